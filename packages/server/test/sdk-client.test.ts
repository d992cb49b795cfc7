import { connect, MercurioConnectError } from '@mercurio/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/auth/tokens.js';
import { conversationKey } from '../src/store/types.js';
import { SdkHarness, until } from './support/sdk.js';
import { ENGINES, TestStack } from './support/stack.js';

describe.each(ENGINES)('SDK against the real server (%s)', (engine) => {
  const stack = new TestStack('sdk', { MERCURIO_HTTP_PORT: '0' }, engine);
  const sdk = new SdkHarness(stack);

  beforeAll(async () => {
    await stack.startRouter({ http: true });
  });
  afterAll(async () => {
    await sdk.close();
    await stack.close();
  });

  it('two clients chat directly; a receipt turns the sender copy into 250, mark read zeroes the count', async () => {
    const alice = await sdk.connect('alice');
    const bob = await sdk.connect('bob', { endpoint: sdk.endpoint('tcp') });
    expect(alice.client.userId).toBe('alice');

    const { message_id } = await alice.client.sendMessage('bob', 'hello bob');
    const got = await bob.waitFor('message', (m) => m.message.message_id === message_id);
    expect(got).toMatchObject({
      conversWith: 'alice',
      source: 'live',
      message: { text: 'hello bob', sender: 'alice', recipient: 'bob', status: 150, seq: 1 },
    });
    const own = await alice.waitFor('message', (m) => m.message.message_id === message_id);
    expect(own.message).toMatchObject({ status: 100, seq: 1 });

    await bob.client.sendReceipt('alice', message_id);
    const update = await alice.waitFor('messageUpdated', (u) => u.message_id === message_id);
    expect(update).toMatchObject({ conversWith: 'bob', status: 250, read_by: 'bob' });

    const second = await alice.client.sendMessage('bob', 'second');
    await bob.waitFor('message', (m) => m.message.message_id === second.message_id);
    await bob.client.markRead('alice');
    await bob.waitFor('conversationUpdated', (c) => c.conversWith === 'alice' && c.unread_count === 0);

    const page = await bob.client.history('alice');
    expect(page.messages.map((m) => m.text)).toEqual(['hello bob', 'second']);
    const hits = await bob.client.search('second');
    expect(hits.map((h) => h.message.text)).toEqual(['second']);
    const presence = await bob.client.presence(['alice']);
    expect(presence).toEqual([expect.objectContaining({ user_id: 'alice', status: 'online' })]);

    await bob.client.typing('alice', true);
    await alice.waitFor('typing', (t) => t.writer_id === 'bob' && t.typing);

    await bob.client.archive('alice');
    await bob.waitFor('conversationArchived', (c) => c.conversWith === 'alice');
    await bob.client.unarchive('alice');
    await bob.waitFor('conversationUnarchived', (c) => c.conversWith === 'alice');
  });

  it('groups over the HTTP API: create, message, rename, remove, leave', async () => {
    const owner = await sdk.connect('gowner');
    const m1 = await sdk.connect('gm1');
    const m2 = await sdk.connect('gm2');
    const group = await owner.client.createGroup({ name: 'Team', members: ['gm1', 'gm2'] });
    const gid = group.uid;
    // Members learn of a new group from its first (info) message, as Chat21 clients do.
    await m1.waitFor('message', (m) => m.conversWith === gid && m.message.sender === 'system');

    const { message_id } = await m1.client.sendMessage(gid, 'hi team', { group: true });
    for (const user of [owner, m1, m2]) {
      const got = await user.waitFor('message', (m) => m.message.message_id === message_id);
      expect(got).toMatchObject({ conversWith: gid, message: { sender: 'gm1', status: 150 } });
    }

    await owner.client.renameGroup(gid, 'Team 2');
    await m2.waitFor('groupUpdated', (g) => g.groupId === gid && g.group.name === 'Team 2');
    await owner.client.removeMember(gid, 'gm2');
    await m2.waitFor('groupUpdated', (g) => g.groupId === gid && !('gm2' in g.group.members));
    await m1.client.leaveGroup(gid);
    const after = await owner.client.group(gid);
    expect(Object.keys(after.members).sort()).toEqual(['gowner']);

    // A non-member's message is refused with an error event carrying the message id.
    const refused = await m2.client.sendMessage(gid, 'let me in', { group: true });
    const error = await m2.waitFor('error', (e) => e.message_id === refused.message_id);
    expect(error.code).toBe('not_a_member');
  });

  it('queues messages sent while the broker is unreachable and delivers each once on reconnect', async () => {
    const { proxy, endpoint } = await sdk.proxy();
    const sender = await sdk.connect('ob-alice', { endpoint });
    const receiver = await sdk.connect('ob-bob');

    proxy.cut();
    await sender.waitFor('state', (s) => s.new === 'reconnecting');
    const sends = ['offline 1', 'offline 2', 'offline 3'].map((text) =>
      sender.client.sendMessage('ob-bob', text),
    );
    await until(() => sender.client.pending().length === 3, 'three pending messages');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.texts('ob-alice')).toEqual([]);

    proxy.restore();
    await Promise.all(sends);
    await until(() => receiver.texts('ob-alice').length >= 3, 'three delivered messages');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.texts('ob-alice')).toEqual(['offline 1', 'offline 2', 'offline 3']);
    expect(sender.client.pending()).toEqual([]);
    const stored = await stack.sql.query(
      `SELECT count(*)::int AS n FROM messages WHERE app_id = $1 AND sender = 'ob-alice'`,
      [stack.app],
    );
    expect(stored.rows[0].n).toBe(3);
  });

  it('retryNow connects at once instead of waiting out the backoff', async () => {
    const { proxy, endpoint } = await sdk.proxy();
    // A backoff far longer than the test: only retryNow can bring the connection back in time.
    const sender = await sdk.connect('rn-alice', {
      endpoint,
      reconnectDelayMs: 60_000,
      maxReconnectDelayMs: 60_000,
    });
    const receiver = await sdk.connect('rn-bob');
    proxy.cut();
    await sender.waitFor('state', (s) => s.new === 'reconnecting');
    const sent = sender.client.sendMessage('rn-bob', 'waited in the outbox');
    proxy.restore();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sender.client.state).toBe('reconnecting');
    expect(sender.client.pending()).toHaveLength(1);

    sender.client.retryNow();
    await sent;
    await until(() => receiver.texts('rn-alice').length === 1, 'the message delivered');
    expect(sender.client.state).toBe('connected');
    expect(receiver.texts('rn-alice')).toEqual(['waited in the outbox']);
  });

  it("with several endpoints (a cluster's nodes), moves to the next one when one is down", async () => {
    // A node that is down: its port refuses connections.
    const { proxy: down, endpoint: downEndpoint } = await sdk.proxy();
    down.cut();
    const started = Date.now();
    const carl = await sdk.connect('ep-carl', {
      endpoint: [downEndpoint, sdk.endpoint('tcp')],
      reconnectDelayMs: 100,
    });
    expect(carl.client.state).toBe('connected');
    expect(Date.now() - started).toBeLessThan(5_000);
    await down.close();
  });

  it('emits a duplicated delivery once', async () => {
    const bob = await sdk.connect('dd-bob');
    const copy = {
      message_id: '6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5',
      sender: 'dd-alice',
      recipient: 'dd-bob',
      app_id: stack.app,
      timestamp: Date.now(),
      channel_type: 'direct',
      status: 150,
      seq: 1,
      text: 'twice',
    };
    const topic = { kind: 'messageAdded', app: stack.app, user: 'dd-bob', conversWith: 'dd-alice' } as const;
    await stack.router!.bus.publish([{ topic, payload: copy }]);
    await stack.router!.bus.publish([{ topic, payload: copy }]);
    await stack.router!.bus.publish([
      { topic, payload: { ...copy, message_id: crypto.randomUUID(), seq: 2, text: 'next' } },
    ]);
    await until(() => bob.texts('dd-alice').includes('next'), 'the next message');
    expect(bob.texts('dd-alice')).toEqual(['twice', 'next']);
  });

  it('shows a conversation in seq order live: an overtaking copy waits, a copy that never came is filled from history', async () => {
    const alice = await sdk.connect('lo-alice');
    const bob = await sdk.connect('lo-bob');
    await alice.client.sendMessage('lo-bob', 'first');
    await until(() => bob.texts('lo-alice').length === 1, 'the first message');
    // A second router stored this message, and its copies were lost with it (killed before
    // publishing): only the store has it.
    const now = Date.now();
    const lostId = crypto.randomUUID();
    await stack.router!.store.recordMessage(
      {
        app: stack.app,
        messageId: lostId,
        sender: 'lo-alice',
        recipient: 'lo-bob',
        channelType: 'direct',
        conversationKey: conversationKey('direct', 'lo-alice', 'lo-bob'),
        body: {
          message_id: lostId,
          sender: 'lo-alice',
          recipient: 'lo-bob',
          app_id: stack.app,
          channel_type: 'direct',
          timestamp: now,
          text: 'lost copy',
        },
        text: 'lost copy',
        createdAt: now,
      },
      [
        { owner: 'lo-alice', conversWith: 'lo-bob', isSender: true },
        { owner: 'lo-bob', conversWith: 'lo-alice', isSender: false },
      ],
    );
    await alice.client.sendMessage('lo-bob', 'after the gap');
    await until(() => bob.texts('lo-alice').length === 3, 'the lost message and the next');
    const messages = bob.of('message').filter((m) => m.conversWith === 'lo-alice');
    expect(messages.map((m) => [m.message.text, m.message.seq, m.source])).toEqual([
      ['first', 1, 'live'],
      ['lost copy', 2, 'gap-fill'],
      ['after the gap', 3, 'live'],
    ]);
  });

  for (const session of ['non-persistent', 'persistent'] as const) {
    it(`fills the gap from history after the broker dropped the connection (${session} session)`, async () => {
      const sender = await sdk.connect(`gap-alice-${session}`);
      const senderId = sender.client.userId;
      const { proxy, endpoint } = await sdk.proxy();
      const reader = await sdk.connect(`gap-bob-${session}`, {
        endpoint,
        mqttOptions: { clean: session === 'non-persistent' },
      });
      for (const text of ['m1', 'm2']) await sender.client.sendMessage(reader.client.userId, text);
      await until(() => reader.texts(senderId).length === 2, 'm1 and m2');

      proxy.cut();
      await reader.waitFor('state', (s) => s.new === 'reconnecting');
      const uptodateBefore = reader.of('uptodate').length;
      for (const text of ['m3', 'm4', 'm5', 'm6', 'm7'])
        await sender.client.sendMessage(reader.client.userId, text);
      // Stored: the sender has its own copies of all of them.
      await until(() => sender.texts(reader.client.userId).length === 7, 'the sender copies');

      proxy.restore();
      await until(() => reader.of('uptodate').length > uptodateBefore, 'uptodate after the reconnect');
      await sender.client.sendMessage(reader.client.userId, 'm8');
      await until(() => reader.texts(senderId).length === 8, 'm8');
      await new Promise((resolve) => setTimeout(resolve, 300));

      const messages = reader.of('message').filter((m) => m.conversWith === senderId);
      expect(messages.map((m) => m.message.text)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);
      expect(messages.map((m) => m.message.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      if (session === 'non-persistent') {
        // Nothing was kept for the client: m3…m7 came from the history API.
        expect(messages.slice(2, 7).map((m) => m.source)).toEqual(Array(5).fill('gap-fill'));
      }
      // Every message of the gap was emitted before `uptodate`.
      const order = reader.events.map((e) =>
        e.name === 'message' ? (e.event as { message: { text: string } }).message.text : e.name,
      );
      const uptodate = order.lastIndexOf('uptodate');
      expect(order.indexOf('m7')).toBeLessThan(uptodate);
      expect(order.indexOf('m8')).toBeGreaterThan(uptodate);
    });
  }

  it('reports an expired or refused token as unauthorized and does not retry', async () => {
    const expired = await signUserToken(stack.config.jwt, { app: stack.app, user: 'ua', ttlSeconds: -60 });
    const options = await sdk.options('ua', { token: expired });
    await expect(connect(options)).rejects.toMatchObject({ state: 'unauthorized' });

    // Not expired, but signed with another key: the broker refuses it at CONNECT.
    const forged = await signUserToken(
      { ...stack.config.jwt, secret: 'not-the-secret-not-the-secret-not-the-secret' },
      { app: stack.app, user: 'ua', ttlSeconds: 3600 },
    );
    const user = await sdk.start('ua', { token: forged });
    await user.waitFor('state', (s) => s.new === 'unauthorized');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(user.of('state').map((s) => s.new)).toEqual(['connecting', 'unauthorized']);
    expect(user.client.state).toBe('unauthorized');
    expect(MercurioConnectError).toBeDefined();
  });

  it('asks tokenRefresh for a new token when the current one is about to expire', async () => {
    let refreshed = 0;
    const user = await sdk.connect('tr', {
      token: await stack.token('tr', 5),
      tokenRefresh: async () => {
        refreshed++;
        return stack.token('tr');
      },
    });
    expect(refreshed).toBe(1);
    await user.client.sendMessage('tr-peer', 'with a fresh token');
    await user.waitFor('message', (m) => m.message.text === 'with a fresh token');
    expect((await user.client.history('tr-peer')).messages.map((m) => m.text)).toEqual([
      'with a fresh token',
    ]);
  });
});
