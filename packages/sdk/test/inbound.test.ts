import { formatTopic, type Topic } from '@mercurio/protocol';
import { describe, expect, it } from 'vitest';
import { Api, type FetchLike } from '../src/api.js';
import { Dedupe } from '../src/dedupe.js';
import { Emitter, type EventName, type MercurioEvents } from '../src/events.js';
import { SeqTracker } from '../src/gap-fill.js';
import { HeldMessages } from '../src/held-messages.js';
import { InboundDispatch } from '../src/inbound.js';
import { InboxSync } from '../src/inbox-sync.js';
import { ActionWaiters } from '../src/message-actions.js';
import { MessageChanges } from '../src/message-changes.js';
import { TokenSource } from '../src/token.js';
import type { ReportInvalid } from '../src/validate.js';

// What a buggy server or a proxy could put into alice's inbox: each event kind once as the
// server sends it (it must reach the app) and in malformed shapes (they must be dropped, told
// as `invalid_event`, and never reach the app).

const APP = 'app';
const ME = 'alice';
const inbox = (topic: Record<string, string> & { kind: Topic['kind'] }) =>
  formatTopic({ app: APP, user: ME, ...topic } as Topic, 'mqtt');

const goodMessage = {
  message_id: '6f1c2d3e-0000-4000-8000-000000000001',
  sender: 'bob',
  recipient: ME,
  app_id: APP,
  timestamp: 1_700_000_000_000,
  channel_type: 'direct',
  status: 150,
  seq: 7,
  text: 'hi',
  type: 'text',
  attributes: null,
};
const goodView = {
  timelineOf: ME,
  conversWith: 'bob',
  key: 'bob',
  app_id: APP,
  channel_type: 'direct',
  is_new: true,
  archived: false,
  unread_count: 1,
  last_seq: 7,
  read_seq: 6,
  last_message_text: 'hi',
  timestamp: 1_700_000_000_000,
  sender: 'bob',
};

interface Case {
  name: string;
  topic: string;
  event: EventName;
  good: Record<string, unknown>;
  bad: Record<string, unknown>[];
}

const messageTopic = inbox({ kind: 'messageAdded', conversWith: 'bob' });
const conversationTopic = (kind: Topic['kind']) => inbox({ kind, conversWith: 'bob' });

const CASES: Case[] = [
  {
    name: 'message',
    topic: messageTopic,
    event: 'message',
    good: goodMessage,
    bad: [
      { ...goodMessage, seq: '7' },
      { ...goodMessage, seq: -1 },
      { ...goodMessage, message_id: undefined },
      { ...goodMessage, message_id: 42 },
      { ...goodMessage, sender: undefined },
      { ...goodMessage, timestamp: 'yesterday' },
      { ...goodMessage, status: 42 },
      { ...goodMessage, channel_type: 'broadcast' },
      { ...goodMessage, text: { html: '<b>' } },
    ],
  },
  {
    name: 'message update',
    topic: inbox({ kind: 'messageUpdated', conversWith: 'bob', messageId: goodMessage.message_id }),
    event: 'messageUpdated',
    good: { timelineOf: ME, message_id: goodMessage.message_id, status: 250, read_by: 'bob' },
    bad: [{ status: 'read' }, { status: 250, read_by: ['bob'] }, { timelineOf: 5 }],
  },
  {
    name: 'conversation update',
    topic: conversationTopic('conversationUpdated'),
    event: 'conversationUpdated',
    good: { timelineOf: ME, conversWith: 'bob', is_new: false, unread_count: 0, read_seq: 7 },
    bad: [{ unread_count: '3' }, { is_new: 'no' }, { read_seq: 1.5 }],
  },
  ...(
    [
      ['conversationAdded', 'conversationAdded'],
      ['conversationDeleted', 'conversationRemoved'],
      ['archivedConversationAdded', 'conversationArchived'],
      ['archivedConversationDeleted', 'conversationUnarchived'],
    ] as const
  ).map(
    ([kind, event]): Case => ({
      name: kind,
      topic: conversationTopic(kind),
      event,
      good: goodView,
      bad: [
        { ...goodView, is_new: 'yes' },
        { ...goodView, last_message_text: 5 },
        { ...goodView, channel_type: 'channel' },
      ],
    }),
  ),
  {
    name: 'group update',
    topic: inbox({ kind: 'groupUpdated', groupId: 'group-team' }),
    event: 'groupUpdated',
    good: { uid: 'group-team', name: 'Team', owner: 'bob', members: { alice: 1, bob: 1 }, appId: APP },
    bad: [{ members: 'alice,bob' }, { name: 5, members: {} }, { members: {}, createdOn: 'today' }],
  },
  {
    name: 'presence',
    topic: inbox({ kind: 'presenceChanged', peer: 'bob' }),
    event: 'presence',
    good: { user_id: 'bob', status: 'offline', timestamp: 5, last_online: 5 },
    bad: [
      { status: 'away', timestamp: 5 },
      { status: 'online' },
      { status: 'offline', timestamp: 5, last_online: 'never' },
    ],
  },
  {
    name: 'typing',
    topic: inbox({ kind: 'typingChanged', conversWith: 'bob' }),
    event: 'typing',
    good: { writer_id: 'bob', writer_fullname: 'Bob', conversWith: 'bob', typing: true, timestamp: 5 },
    bad: [
      { writer_id: 'bob', typing: 'yes', timestamp: 5 },
      { typing: true, timestamp: 5 },
      { writer_id: 'bob', writer_fullname: null, typing: true, timestamp: 5 },
    ],
  },
  {
    name: 'error',
    topic: inbox({ kind: 'error' }),
    event: 'error',
    good: {
      code: 'rate_limited',
      message: 'slow down',
      topic: 'apps/app/outgoing/users/alice/messages/bob/outgoing',
      message_id: goodMessage.message_id,
      retry_after_ms: 1000,
      timestamp: 5,
    },
    bad: [
      { message: 'no code', timestamp: 5 },
      { code: 'rate_limited', message: 'x', timestamp: 'now' },
      { code: 'rate_limited', message: 'x', timestamp: 5, message_id: 7 },
    ],
  },
];

function harness() {
  const emitter = new Emitter();
  const seen: { name: EventName; event: unknown }[] = [];
  const invalid: MercurioEvents['error'][] = [];
  const names: EventName[] = [
    'message',
    'messageUpdated',
    'conversationAdded',
    'conversationUpdated',
    'conversationRemoved',
    'conversationArchived',
    'conversationUnarchived',
    'groupUpdated',
    'presence',
    'typing',
    'error',
  ];
  for (const name of names) {
    emitter.on(name, (event) => {
      if (name === 'error' && (event as MercurioEvents['error']).code === 'invalid_event')
        invalid.push(event as MercurioEvents['error']);
      else seen.push({ name, event });
    });
  }
  const report: ReportInvalid = (message, details) =>
    emitter.emit('error', { code: 'invalid_event', message, timestamp: Date.now(), ...details });
  const sync = new InboxSync({
    emitter,
    dedupe: new Dedupe(),
    tracker: new SeqTracker(),
    fetchPage: undefined,
    gapHoldMs: 1000,
    error: () => undefined,
  });
  const changes = new MessageChanges(emitter, new HeldMessages(), new ActionWaiters(), report);
  const inbound = new InboundDispatch(emitter, sync, report, changes);
  const receive = (topic: string, payload: unknown) =>
    inbound.receive(
      topic,
      new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    );
  return { seen, invalid, receive };
}

describe('inbound payloads are checked before they become events', () => {
  for (const c of CASES) {
    it(`a well-formed ${c.name} reaches the app as its event`, () => {
      const { seen, invalid, receive } = harness();
      receive(c.topic, c.good);
      expect(invalid).toEqual([]);
      expect(seen.map((s) => s.name)).toEqual([c.event]);
    });

    it(`a malformed ${c.name} is dropped and reported, and the client goes on`, () => {
      const { seen, invalid, receive } = harness();
      for (const bad of c.bad) receive(c.topic, bad);
      expect(seen).toEqual([]);
      expect(invalid).toHaveLength(c.bad.length);
      for (const report of invalid) {
        expect(report.topic).toBe(c.topic);
        expect(report.message).toMatch(/^dropped .* does not fit the protocol/);
        // Never a message_id: the app would take it for a refusal of its own message.
        expect(report.message_id).toBeUndefined();
      }
      // The next good payload on the same topic still gets through.
      receive(c.topic, c.good);
      expect(seen.map((s) => s.name)).toEqual([c.event]);
    });
  }

  it('says which field was wrong', () => {
    const { invalid, receive } = harness();
    receive(messageTopic, { ...goodMessage, seq: 'seven' });
    expect(invalid[0]?.message).toContain('seq:');
    expect(invalid[0]?.cause).toEqual([expect.stringContaining('seq:')]);
  });

  it('drops payloads that are not JSON objects', () => {
    const { seen, invalid, receive } = harness();
    for (const raw of ['{not json', '[]', '42', 'null', '"text"']) receive(messageTopic, raw);
    expect(seen).toEqual([]);
    expect(invalid.map((e) => e.code)).toEqual(Array(5).fill('invalid_event'));
  });

  it('passes on what it does not interpret and takes names from the topic', () => {
    const { seen, receive } = harness();
    receive(messageTopic, { ...goodMessage, custom: { x: 1 } });
    receive(inbox({ kind: 'presenceChanged', peer: 'bob' }), {
      user_id: 'mallory',
      status: 'online',
      timestamp: 1,
    });
    const message = seen[0]?.event as MercurioEvents['message'];
    expect(message.message.custom).toEqual({ x: 1 });
    expect(message.kind).toBe('direct');
    expect((seen[1]?.event as MercurioEvents['presence'] | undefined)?.user_id).toBe('bob');
  });

  it("gives a copy without channel_type the kind of Chat21's id rule, like the event's kind", () => {
    const { seen, receive } = harness();
    const { channel_type: _, ...chat21 } = goodMessage;
    receive(inbox({ kind: 'messageAdded', conversWith: 'group-team' }), {
      ...chat21,
      recipient: 'group-team',
    });
    const event = seen[0]?.event as MercurioEvents['message'];
    expect(event.kind).toBe('group');
    expect(event.message.channel_type).toBe('group');
  });

  it('ignores topics it does not know, as Chat21 clients do', () => {
    const { seen, invalid, receive } = harness();
    receive('apps/app/users/alice/somethingnew/clientadded', { anything: true });
    expect(seen).toEqual([]);
    expect(invalid).toEqual([]);
  });
});

describe('history pages are checked like live messages', () => {
  it('drops a malformed message of a page (gap fill and history()) and keeps the others', async () => {
    const reports: string[] = [];
    const fetch: FetchLike = async () => ({
      ok: true,
      status: 200,
      headers: { get: () => null },
      json: async () => ({
        success: true,
        result: [goodMessage, { ...goodMessage, message_id: 'x-2', seq: 'eight' }],
        has_more: false,
        first_seq: 7,
        last_seq: 8,
      }),
    });
    const api = new Api('http://api', APP, ME, new TokenSource('t', undefined), fetch, (message) =>
      reports.push(message),
    );
    const page = await api.history('bob', { after: 6 });
    expect(page.messages.map((m) => m.message_id)).toEqual([goodMessage.message_id]);
    expect(page.lastSeq).toBe(8);
    expect(reports).toEqual([expect.stringMatching(/^dropped a message .*the history of bob.*seq:/)]);
  });
});
