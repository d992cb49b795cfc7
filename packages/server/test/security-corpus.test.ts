import { randomUUID } from 'node:crypto';
import { inboxPattern } from '@mercurio/protocol';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/auth/tokens.js';
import { signToken } from './support/acl-cases.js';
import { TestClient } from './support/mqtt-client.js';
import {
  type CorpusContext,
  expectedOn,
  generatedTopicCases,
  ID_CASES,
  MQTT_TOKEN_CASES,
  type MqttCase,
  type MqttOutcome,
  PAYLOAD_CASES,
  type StoredRow,
  TOPIC_CASES,
} from './support/security-corpus.js';
import {
  generatedCursorCases,
  generatedLimitCases,
  generatedPathCases,
  generatedSearchCases,
  HTTP_CASES,
  type HttpCase,
  type HttpCorpusContext,
} from './support/security-corpus-http.js';
import { services } from './support/services.js';
import { ENGINES, TestStack } from './support/stack.js';

/** How a refusal at CONNECT looks: CONNACK with an error code (TCP) or a socket closed before it (Web-MQTT). */
const REFUSED_AT_CONNECT =
  /Not authorized|Bad username or password|closed before CONNACK|ended by the other party/i;
/**
 * How long a case may take to be answered, and to connect. Refusals take milliseconds; the
 * margins are for a loaded test machine (the shared RabbitMQ serves every test file at once).
 */
const ANSWER_WITHIN_MS = 10_000;
const CONNECT_WITHIN_MS = 15_000;
/** A bystander's message must arrive within this, whatever the attackers do meanwhile. */
const BYSTANDER_LATENCY_MS = 8000;

const MQTT_CASES: readonly MqttCase[] = [
  ...MQTT_TOKEN_CASES,
  ...TOPIC_CASES,
  ...ID_CASES,
  ...PAYLOAD_CASES,
  ...generatedTopicCases(40),
];
const ALL_HTTP_CASES: readonly HttpCase[] = [
  ...HTTP_CASES,
  ...generatedPathCases(30),
  ...generatedLimitCases(20),
  ...generatedSearchCases(30),
  ...generatedCursorCases(10),
];

/**
 * Two bystanders chat the whole time the corpus runs: every message must arrive, and quickly.
 * Arrival times are taken from the recipient's own MQTT client.
 */
class BystanderChat {
  readonly #sent = new Map<string, { at: number; arrived?: number }>();
  readonly #ids: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #turn = 0;

  constructor(
    readonly stack: TestStack,
    readonly users: { a: string; b: string },
    readonly clients: { a: TestClient; b: TestClient },
  ) {
    for (const client of [clients.a, clients.b]) {
      client.mqtt.on('message', (topic, raw) => {
        if (!topic.endsWith('/clientadded') || topic.includes('/errors/')) return;
        const copy = JSON.parse(raw.toString()) as { message_id?: string; recipient?: string };
        const sent = copy.message_id === undefined ? undefined : this.#sent.get(copy.message_id);
        // The sender gets a copy too; only the recipient's counts (apps/<app>/users/<owner>/…).
        const owner = topic.split('/')[3];
        if (sent && sent.arrived === undefined && copy.recipient === owner) sent.arrived = Date.now();
      });
    }
  }

  start(everyMs = 150): void {
    this.#timer = setInterval(() => void this.send(), everyMs);
  }

  async send(): Promise<string> {
    const fromA = this.#turn++ % 2 === 0;
    const [from, to] = fromA ? [this.users.a, this.users.b] : [this.users.b, this.users.a];
    const messageId = randomUUID();
    this.#sent.set(messageId, { at: Date.now() });
    this.#ids.push(messageId);
    await (fromA ? this.clients.a : this.clients.b)
      .publish(this.stack.outgoing(from, to), { text: `bystander ${this.#turn}`, message_id: messageId })
      .catch(() => {});
    return messageId;
  }

  /** The first message a sent to b. */
  get firstFromA(): string {
    return this.#ids[0]!;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Waits for every sent message; returns those that never arrived and the slowest latency. */
  async settle(timeoutMs = 15_000): Promise<{ sent: number; missing: string[]; slowestMs: number }> {
    const deadline = Date.now() + timeoutMs;
    const missing = () => [...this.#sent].filter(([, s]) => s.arrived === undefined).map(([id]) => id);
    while (missing().length > 0 && Date.now() < deadline) {
      await this.clients.b.waitUntil(() => missing().length === 0, deadline - Date.now()).catch(() => {});
      await this.clients.a.waitUntil(() => missing().length === 0, 200).catch(() => {});
    }
    const latencies = [...this.#sent.values()]
      .filter((s) => s.arrived !== undefined)
      .map((s) => s.arrived! - s.at);
    return { sent: this.#sent.size, missing: missing(), slowestMs: Math.max(0, ...latencies) };
  }
}

/** Connects as the case says, acts, and reports what the attacker saw. */
async function runMqttCase(
  where: { stack: TestStack; ctx: CorpusContext; url: string; track: (client: TestClient) => void },
  c: MqttCase,
  user: string,
): Promise<{ outcome: MqttOutcome; message?: string }> {
  const { stack, ctx } = where;
  const token = await (c.token ?? ((x: CorpusContext, u: string) => x.token(u)))(ctx, user);
  let client: TestClient;
  try {
    client = await TestClient.connect(where.url, token, {
      clientId: `${user}-${randomUUID().slice(0, 8)}`,
      connectTimeout: CONNECT_WITHIN_MS,
    });
  } catch (error) {
    if (REFUSED_AT_CONNECT.test(String((error as Error).message))) return { outcome: 'refused at connect' };
    throw error;
  }
  where.track(client);
  try {
    // The attacker listens to its own inbox (its error events, its own copies).
    if (!c.token) await client.subscribe(inboxPattern(stack.app, user, 'mqtt'));
    if (!c.act) {
      await client.waitForClose(1000).catch(() => {});
      return { outcome: client.closed ? 'closed' : 'connected' };
    }
    const errorTopic = stack.topic('users', user, 'errors', 'clientadded');
    const ownCopy = stack.topic('users', user, 'messages');
    c.act(client, ctx, user).catch(() => {});
    const error = () => client.received.find((m) => m.topic === errorTopic);
    const copy = () =>
      client.received.find((m) => m.topic.startsWith(`${ownCopy}/`) && m.topic.endsWith('/clientadded'));
    await client
      .waitUntil(() => client.closed || error() !== undefined || copy() !== undefined, ANSWER_WITHIN_MS)
      .catch(() => {});
    const refusal = error();
    if (refusal) {
      return { outcome: `error:${String(refusal.payload.code)}`, message: String(refusal.payload.message) };
    }
    if (copy()) return { outcome: 'accepted' };
    return { outcome: client.closed ? 'closed' : 'no answer' };
  } finally {
    await client.end().catch(() => {});
  }
}

describe.each(ENGINES)(
  'security corpus: every bad input is refused clearly, bystanders never notice (%s)',
  (engine) => {
    const stack = new TestStack('corpus', {}, engine);
    const bystanders = { a: 'ann', b: 'ben' };
    const group = 'group-club';
    const me = 'mallory';
    let api: FastifyInstance;
    let chat: BystanderChat;
    let mqttUrl: string;
    const attackers: TestClient[] = [];
    /** Attackers whose (sanitized) messages were rightly stored: the only rows besides the bystanders'. */
    const acceptedSenders = new Set<string>();
    let httpSendAccepted = false;

    const sign = (claims: Record<string, unknown>, options?: Parameters<typeof signToken>[2]) =>
      signToken(claims, services().jwtSecret, options);
    const ctx: CorpusContext = {
      app: stack.app,
      engine,
      topic: (...levels) => stack.topic(...levels),
      outgoing: (sender, recipient) => stack.outgoing(sender, recipient),
      token: (user, ttl) => stack.token(user, ttl),
      sign,
      bystanders,
      group,
      bystanderMessageId: () => chat.firstFromA,
    };
    let hctx: HttpCorpusContext;

    beforeAll(async () => {
      await stack.startRouter();
      mqttUrl = engine === 'rabbitmq' ? services().wsUrl : stack.router!.mqtt!.wsUrl!;
      await stack.createGroup(group, bystanders.a, [bystanders.a, bystanders.b]);
      api = await stack.http();
      hctx = {
        app: stack.app,
        me,
        bystanders,
        group,
        sign,
        base: stack.config.http.basePath,
        tokens: {
          me: await stack.token(me),
          admin: await stack.adminToken(),
          otherApp: await signUserToken(stack.config.jwt, { app: 'other-app', user: me, ttlSeconds: 600 }),
        },
      };
      const [a, b] = await Promise.all([stack.client(bystanders.a), stack.client(bystanders.b)]);
      chat = new BystanderChat(stack, bystanders, { a: a!, b: b! });
      await chat.send();
      await b!.waitFor((m) => m.payload.message_id === chat.firstFromA);
      chat.start();
    });

    afterAll(async () => {
      chat?.stop();
      await Promise.allSettled(attackers.map((client) => client.end()));
      await stack.close();
    });

    /** Connects as the case says, acts, and reports what the attacker saw. */
    const run = (c: MqttCase, user: string) =>
      runMqttCase({ stack, ctx, url: mqttUrl, track: (client) => attackers.push(client) }, c, user);

    describe(`MQTT: ${MQTT_CASES.length} bad tokens, topics, ids and payloads`, () => {
      it.concurrent.each(
        MQTT_CASES.map((c, i) => [`${c.category}: ${c.name}`, { ...c, user: `mal${i}` }] as const),
      )(
        '%s',
        async (_title, c) => {
          const allowed = expectedOn(c.expected, engine);
          const { outcome, message } = await run(c, c.user);
          expect(
            allowed,
            `${c.name}: got ${outcome}${c.pending ? ` (pending: ${c.pending})` : ''}`,
          ).toContain(outcome);
          if (outcome.startsWith('error:')) expect(message, 'an error event says why').toMatch(/\S/);
          if (outcome === 'accepted') {
            acceptedSenders.add(c.user);
            const { rows } = await stack.sql.query<StoredRow>(
              'SELECT sender, recipient, seq, channel_type, body, created_at FROM messages WHERE app_id = $1 AND sender = $2',
              [stack.app, c.user],
            );
            expect(rows).toHaveLength(1);
            const row = { ...rows[0]!, seq: Number(rows[0]!.seq), created_at: Number(rows[0]!.created_at) };
            c.stored?.(row, c.user, ctx);
          }
        },
        30_000,
      );
    });

    describe(`HTTP: ${ALL_HTTP_CASES.length} bad requests on every route`, () => {
      it.each(ALL_HTTP_CASES.map((c) => [c.name, c] as const))('%s', async (_title, c) => {
        const headers: Record<string, string> = {};
        const auth = c.auth ?? 'me';
        if (typeof auth === 'function') headers.authorization = await auth(hctx);
        else if (auth !== 'none') headers.authorization = hctx.tokens[auth];
        const body = typeof c.body === 'function' ? JSON.stringify(c.body(hctx)) : c.body;
        const payload =
          body === undefined || typeof body === 'string' || Buffer.isBuffer(body)
            ? body
            : JSON.stringify(body);
        if (payload !== undefined) headers['content-type'] = c.contentType ?? 'application/json';
        const res = await api.inject({
          method: c.method,
          url: `${hctx.base}${c.path(hctx)}`,
          headers,
          payload,
        });
        const code = res.headers['x-mercurio-error'] as string | undefined;
        const what = `${c.method} → ${res.statusCode} ${code ?? ''}${c.pending ? ` (pending: ${c.pending})` : ''}`;
        expect(res.statusCode, `never a 5xx: ${what}`).toBeLessThan(500);
        expect([c.status].flat(), what).toContain(res.statusCode);
        if (res.statusCode >= 400) {
          expect(code ?? `no x-mercurio-error header; body ${res.body.slice(0, 120)}`, what).toMatch(
            /^[a-z_]+$/,
          );
          if (c.code) expect([c.code].flat(), what).toContain(code);
        }
        if (c.method === 'POST' && c.path(hctx).endsWith('/messages') && res.statusCode === 200)
          httpSendAccepted = true;
        c.check?.({ status: res.statusCode, code, body: res.body, json: () => res.json() }, hctx);
      });
    });

    it('meanwhile the bystanders kept chatting: every message arrived, promptly', async () => {
      chat.stop();
      const { sent, missing, slowestMs } = await chat.settle();
      expect(sent).toBeGreaterThan(10);
      expect(missing, 'bystander messages that never arrived').toEqual([]);
      expect(slowestMs, 'slowest bystander message (ms)').toBeLessThan(BYSTANDER_LATENCY_MS);
    });

    it('the database holds nothing a bad input created', async () => {
      const people = new Set([bystanders.a, bystanders.b]);
      const mayHaveWritten = (sender: string) =>
        acceptedSenders.has(sender) || (httpSendAccepted && sender === me);
      const { rows: messages } = await stack.sql.query<StoredRow & { message_id: string }>(
        'SELECT message_id, sender, recipient, channel_type, body FROM messages WHERE app_id = $1',
        [stack.app],
      );
      const wrongMessages = messages.filter((row) => {
        if (people.has(row.sender) && people.has(row.recipient)) {
          return row.channel_type !== 'direct' || !String(row.body.text).startsWith('bystander');
        }
        return (
          !(mayHaveWritten(row.sender) && row.recipient === `sink-${row.sender}`) &&
          !(row.sender === me && row.recipient === `sink-http-${me}` && row.body.sender === me)
        );
      });
      expect(
        wrongMessages.map((row) => `${row.sender} → ${row.recipient}: ${JSON.stringify(row.body.text)}`),
        'messages stored from bad input',
      ).toEqual([]);

      const { rows: groups } = await stack.sql.query<{ group_id: string; name: string; owner: string }>(
        'SELECT group_id, name, owner FROM groups WHERE app_id = $1',
        [stack.app],
      );
      expect(groups).toEqual([{ group_id: group, name: group, owner: bystanders.a }]);
      const { rows: members } = await stack.sql.query<{ member_id: string }>(
        'SELECT member_id FROM group_members WHERE app_id = $1 ORDER BY member_id',
        [stack.app],
      );
      expect(members.map((m) => m.member_id)).toEqual([bystanders.a, bystanders.b]);

      const { rows: conversations } = await stack.sql.query<{
        owner: string;
        convers_with: string;
        archived: boolean;
      }>('SELECT owner, convers_with, archived FROM conversations WHERE app_id = $1', [stack.app]);
      const wrongConversations = conversations.filter(({ owner, convers_with: peer, archived }) => {
        if (people.has(owner) && people.has(peer)) return archived;
        const [writer, sink] = peer.startsWith('sink-') ? [owner, peer] : [peer, owner];
        return !(mayHaveWritten(writer) && (sink === `sink-${writer}` || sink === `sink-http-${writer}`));
      });
      expect(wrongConversations, 'conversations created or changed by bad input').toEqual([]);

      const { rows: instances } = await stack.sql.query('SELECT user_id FROM instances WHERE app_id = $1', [
        stack.app,
      ]);
      expect(instances, 'device instances registered by bad input').toEqual([]);
      expect(({} as Record<string, unknown>).polluted, 'Object.prototype is clean').toBeUndefined();
    });
  },
);
