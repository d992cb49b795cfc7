import { randomUUID } from 'node:crypto';
import { userScopes } from '@mercurio/protocol';
import fc from 'fast-check';
import type { signToken } from './acl-cases.js';
import type { TestClient } from './mqtt-client.js';
import type { EngineKind } from './stack.js';

/**
 * The security corpus (security-corpus.test.ts): bad inputs a stranger with a valid token of their
 * own can send, each with the one clear outcome Mercurio must give. Hand-written where the attack
 * is specific; generated with fast-check (fixed seed, so every run tries the same inputs) where a
 * grammar fits (ids, topic levels, query strings).
 */

/** Seed of every generated case: a failing case is the same case on every run. */
export const CORPUS_SEED = 20_261_201;

/**
 * What the attacker's client sees:
 * - 'refused at connect': no session;
 * - 'closed': the broker closed the connection at the act (an ACL refusal, a malformed packet);
 * - 'error:<code>': an error event with this stable code on the attacker's own error topic;
 * - 'accepted': the router stored it (the attacker got their own copy), after removing what is
 *   not the client's to say (`stored` then checks the row);
 * - 'connected': a token case connected and nothing closed it (never correct for a bad token);
 * - 'no answer': none of the above within the wait (never a correct outcome).
 */
export type MqttOutcome =
  | 'refused at connect'
  | 'closed'
  | 'accepted'
  | 'connected'
  | 'no answer'
  | `error:${string}`;

/** One outcome, alternatives (all clear and correct), or a different answer per engine. */
export type Expected =
  | MqttOutcome
  | readonly MqttOutcome[]
  | Record<EngineKind, MqttOutcome | readonly MqttOutcome[]>;

export function expectedOn(expected: Expected, engine: EngineKind): readonly MqttOutcome[] {
  if (typeof expected === 'string') return [expected];
  if (Array.isArray(expected)) return expected;
  const forEngine = (expected as Record<EngineKind, MqttOutcome | readonly MqttOutcome[]>)[engine];
  return typeof forEngine === 'string' ? [forEngine] : forEngine;
}

/** A stored message row as the corpus checks it. */
export interface StoredRow {
  sender: string;
  recipient: string;
  seq: number;
  channel_type: string;
  body: Record<string, unknown>;
  created_at: number;
}

/** What a token case needs. */
export interface TokenContext {
  app: string;
  /** A token with these claims, signed with the server's secret unless told otherwise. */
  sign: (claims: Record<string, unknown>, options?: Parameters<typeof signToken>[2]) => Promise<string>;
  /** Bystanders chatting meanwhile (`a` writes to `b`). */
  bystanders: { a: string; b: string };
}

export interface CorpusContext extends TokenContext {
  engine: EngineKind;
  /** `apps/<app>/…` in MQTT form. */
  topic(...levels: string[]): string;
  outgoing(sender: string, recipient: string): string;
  /** A token as Mercurio issues it. */
  token(user: string, ttlSeconds?: number): Promise<string>;
  /** A group the attacker is not a member of (owner: bystander a; members: both bystanders). */
  group: string;
  /** The id of a message bystander a sent to bystander b (the attacker is not its recipient). */
  bystanderMessageId(): string;
}

export interface MqttCase {
  name: string;
  category: 'token' | 'topic' | 'id' | 'payload';
  /** The attacker's token; default: a valid token of the attacker's own (`me`). */
  token?: (ctx: CorpusContext, me: string) => Promise<string>;
  /** What the attacker does once connected; `me` is a user of their own, unique to the case. */
  act?: (client: TestClient, ctx: CorpusContext, me: string) => Promise<void>;
  expected: Expected;
  /** For 'accepted': what the stored message must (not) hold. Throws when it is wrong. */
  stored?: (row: StoredRow, me: string, ctx: CorpusContext) => void;
  /** The hole of issue 10 whose fix this case waits for, if it fails on today's main. */
  pending?: string;
}

const seconds = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const FOREIGN_SECRET = 'not-the-secret-not-the-secret-not-the-secret';

/** Sends `payload` as a message from `me` to `recipient` (default: a user nobody else talks to). */
const send =
  (payload: unknown, recipient?: string) =>
  (client: TestClient, ctx: CorpusContext, me: string): Promise<void> =>
    client.publish(ctx.outgoing(me, recipient ?? `sink-${me}`), payload as string);

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Nested JSON, as text: `[[[…]]]` or `{"a":{"a":…}}` `depth` levels deep. */
export function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array'
    ? `${'['.repeat(depth)}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

// ─── Tokens ──────────────────────────────────────────────────────────────────────────────────

/** Tokens nobody may connect with (the same tokens are tried on the HTTP API). */
export interface TokenCase {
  name: string;
  token: (ctx: TokenContext, me: string) => Promise<string>;
  /** The HTTP API's code for it (Chat21 routes answer 403 for both). */
  httpCode: 'unauthorized' | 'token_expired' | 'forbidden';
}

const claimsOf = (ctx: TokenContext, me: string) => ({
  sub: me,
  app_id: ctx.app,
  scope: userScopes(ctx.app, me),
});

export const TOKEN_CASES: readonly TokenCase[] = [
  {
    name: 'signed with another secret',
    token: (ctx, me) => ctx.sign(claimsOf(ctx, me), { secret: FOREIGN_SECRET }),
    httpCode: 'unauthorized',
  },
  {
    name: 'alg none, no signature',
    token: async (ctx, me) =>
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claimsOf(ctx, me), aud: ['rabbitmq', me], exp: seconds() + 600 })}.`,
    httpCode: 'unauthorized',
  },
  {
    name: 'alg none header on a real HS256 signature',
    token: async (ctx, me) => {
      const [, body, signature] = (await ctx.sign(claimsOf(ctx, me))).split('.');
      return `${b64({ alg: 'none', typ: 'JWT' })}.${body}.${signature}`;
    },
    httpCode: 'unauthorized',
  },
  {
    name: 'claims changed after signing (sub of another user)',
    token: async (ctx, me) => {
      const [header, , signature] = (await ctx.sign(claimsOf(ctx, me))).split('.');
      const other = { ...claimsOf(ctx, ctx.bystanders.b), aud: ['rabbitmq'], exp: seconds() + 600 };
      return `${header}.${b64(other)}.${signature}`;
    },
    httpCode: 'unauthorized',
  },
  {
    name: 'expired a minute ago',
    token: (ctx, me) => ctx.sign(claimsOf(ctx, me), { expiresAt: seconds() - 60 }),
    httpCode: 'token_expired',
  },
  {
    name: 'for another audience',
    token: (ctx, me) => ctx.sign(claimsOf(ctx, me), { audience: ['someone-else'] }),
    httpCode: 'unauthorized',
  },
  {
    name: 'without an audience',
    token: (ctx, me) => ctx.sign(claimsOf(ctx, me), { audience: [] }),
    httpCode: 'unauthorized',
  },
  {
    name: 'HS512 instead of HS256',
    token: async (ctx, me) => {
      const { SignJWT } = await import('jose');
      return new SignJWT({ ...claimsOf(ctx, me) })
        .setProtectedHeader({ alg: 'HS512' })
        .setSubject(me)
        .setAudience(['rabbitmq', me])
        .setExpirationTime(seconds() + 600)
        .sign(new TextEncoder().encode(FOREIGN_SECRET.repeat(2)));
    },
    httpCode: 'unauthorized',
  },
  { name: 'empty', token: async () => '', httpCode: 'unauthorized' },
  { name: 'not a JWT', token: async () => 'not-a-jwt', httpCode: 'unauthorized' },
  { name: 'three empty parts', token: async () => '..', httpCode: 'unauthorized' },
  {
    name: 'header and claims not JSON',
    token: async () =>
      `${Buffer.from('{{').toString('base64url')}.${Buffer.from('[[').toString('base64url')}.AAAA`,
    httpCode: 'unauthorized',
  },
  {
    name: 'huge (40 KB of claims; MQTT passwords stop at 64 KB)',
    token: (ctx, me) =>
      ctx.sign({ ...claimsOf(ctx, me), padding: 'x'.repeat(40 * 1024) }, { secret: FOREIGN_SECRET }),
    httpCode: 'unauthorized',
  },
  {
    name: 'sub with a wildcard and separators',
    token: (ctx) => ctx.sign({ sub: 'a/#', app_id: ctx.app, scope: [] }, { audience: ['rabbitmq'] }),
    httpCode: 'unauthorized',
  },
];

/** MQTT: every bad token is refused at CONNECT; a token of another app cannot act in this one. */
export const MQTT_TOKEN_CASES: readonly MqttCase[] = [
  ...TOKEN_CASES.map(
    (c): MqttCase => ({
      name: `token ${c.name}`,
      category: 'token',
      token: c.token,
      expected: 'refused at connect',
    }),
  ),
  {
    name: 'token without any scope',
    category: 'token',
    token: (ctx, me) => ctx.sign({ sub: me, app_id: ctx.app, scope: [] }),
    expected: 'refused at connect',
  },
  {
    name: "token with another user's scopes but the attacker's sub (never issued: the secret is not known)",
    category: 'token',
    token: (ctx, me) =>
      ctx.sign({ sub: me, scope: userScopes(ctx.app, ctx.bystanders.b) }, { secret: FOREIGN_SECRET }),
    expected: 'refused at connect',
  },
  {
    name: "a valid token of another app sends a message in this app's namespace",
    category: 'token',
    token: (_ctx, me) => _ctx.sign({ sub: me, app_id: 'other-app', scope: userScopes('other-app', me) }),
    act: (client, ctx, me) =>
      client.publish(ctx.outgoing(me, ctx.bystanders.a), { text: 'from another app' }),
    expected: 'closed',
  },
  {
    name: "a valid token of another app subscribes to this app's inbox of the same user id",
    category: 'token',
    token: (_ctx, me) => _ctx.sign({ sub: me, app_id: 'other-app', scope: userScopes('other-app', me) }),
    act: (client, ctx, me) => client.subscribe(ctx.topic('users', me, '#')),
    expected: 'closed',
  },
];

// ─── Topics ──────────────────────────────────────────────────────────────────────────────────

export const TOPIC_CASES: readonly MqttCase[] = [
  ...(
    [
      [
        "publishes into bystander b's inbox",
        (c, x) =>
          c.publish(x.topic('users', x.bystanders.b, 'messages', x.bystanders.a, 'clientadded'), {
            text: 'fake',
          }),
      ],
      [
        'sends a message as bystander a',
        (c, x) => c.publish(x.outgoing(x.bystanders.a, x.bystanders.b), { text: 'as a' }),
      ],
      ["subscribes to bystander b's inbox", (c, x) => c.subscribe(x.topic('users', x.bystanders.b, '#'))],
      [
        "subscribes to bystander b's messages with a one-level wildcard",
        (c, x) => c.subscribe(x.topic('users', x.bystanders.b, 'messages', '+', 'clientadded')),
      ],
      ["subscribes to every user's inbox (+)", (c, x) => c.subscribe(x.topic('users', '+', '#'))],
      ['subscribes to the whole app (#)', (c, x) => c.subscribe(x.topic('#'))],
      ['subscribes to everything (#)', (c) => c.subscribe('#')],
      [
        'subscribes to its own user id in every app (apps/+/users/me/#)',
        (c, _x, me) => c.subscribe(`apps/+/users/${me}/#`),
      ],
      ["subscribes to everybody's outgoing messages", (c, x) => c.subscribe(x.topic('outgoing', '#'))],
      [
        "subscribes to bystander a's outgoing messages",
        (c, x) => c.subscribe(x.topic('outgoing', 'users', x.bystanders.a, '#')),
      ],
      ['subscribes to the service namespace', (c) => c.subscribe('apps/observer/#')],
      ["subscribes to this app's service topics", (c, x) => c.subscribe(`apps/observer/${x.app}/#`)],
      [
        'announces a group change (service namespace)',
        (c, x) =>
          c.publish(`apps/observer/${x.app}/groups/update`, {
            group: { uid: x.group, members: { [x.bystanders.a]: 1 } },
            notify_to: {},
          }),
      ],
      [
        'replays history into its own inbox as the service (service namespace)',
        (c, x, me) =>
          c.publish(`apps/observer/${x.app}/users/${me}/messages/${x.bystanders.a}/delivered`, { text: 'x' }),
      ],
      [
        "uses a '.' to reach bystander b's namespace",
        (c, x) => c.publish(x.topic('users', `${x.bystanders.b}.messages`), { text: 'dot' }),
      ],
      [
        "uses a '.' in a subscription to reach bystander b's namespace",
        (c, x) => c.subscribe(x.topic('users', `${x.bystanders.b}.messages`, '#')),
      ],
      [
        'sends in another app as its own user id',
        (c, _x, me) => c.publish(`apps/other-app/outgoing/users/${me}/messages/x/outgoing`, { text: 'x' }),
      ],
      ['publishes to a topic outside apps/', (c) => c.publish('mercurio/anything', { text: 'x' })],
      ['subscribes to the broker’s $SYS topics', (c) => c.subscribe('$SYS/#')],
    ] as const satisfies readonly (readonly [string, NonNullable<MqttCase['act']>])[]
  ).map(([name, act]): MqttCase => ({ name, category: 'topic', act, expected: 'closed' })),

  // In its own namespace, a topic of no known shape is a clear refusal, never silence (the router
  // listens to the whole outgoing namespace); an empty level where an id goes is the id's fault.
  ...(
    [
      [
        'an extra level between recipient and outgoing',
        (x: CorpusContext, me: string) => x.topic('outgoing', 'users', me, 'messages', 'x', 'y', 'outgoing'),
        'error:invalid_topic',
      ],
      [
        "a '.' splits the recipient level (RabbitMQ's mapping)",
        (x: CorpusContext, me: string) => x.topic('outgoing', 'users', me, 'messages', 'x.y', 'outgoing'),
        'error:invalid_topic',
      ],
      [
        'a missing level',
        (x: CorpusContext, me: string) => x.topic('outgoing', 'users', me, 'messages', 'outgoing'),
        'error:invalid_topic',
      ],
      [
        'an unknown last keyword',
        (x: CorpusContext, me: string) => x.topic('outgoing', 'users', me, 'messages', 'x', 'incoming'),
        'error:invalid_topic',
      ],
      [
        'an empty recipient level',
        (x: CorpusContext, me: string) => x.topic('outgoing', 'users', me, 'messages', '', 'outgoing'),
        'error:invalid_id',
      ],
    ] as const
  ).map(
    ([name, topic, expected]): MqttCase => ({
      name: `own outgoing namespace: ${name}`,
      category: 'topic',
      act: (c, x, me) => c.publish(topic(x, me), { text: 'shape' }),
      expected,
    }),
  ),
  // Longer than an AMQP routing key (255 bytes): RabbitMQ 3.10's MQTT plugin routes it, the
  // router's quorum queue hands it over through <prefix>.redelivered (bus/rabbitmq-queues.ts).
  {
    name: 'a topic over 255 bytes (RabbitMQ’s routing-key limit)',
    category: 'topic',
    act: (c, x, me) => c.publish(x.outgoing(me, 'é'.repeat(120)), { text: 'long' }),
    expected: 'error:invalid_topic',
  },
  {
    name: 'a 4 KB recipient level',
    category: 'topic',
    act: (c, x, me) => c.publish(x.outgoing(me, 'r'.repeat(4096)), { text: 'long' }),
    expected: 'error:invalid_topic',
  },
  {
    name: 'a wildcard (+) in a PUBLISH topic of its own namespace',
    category: 'topic',
    act: (c, x, me) => c.publish(x.outgoing(me, 'a+b'), { text: 'plus' }),
    expected: ['closed', 'error:invalid_id', 'error:invalid_topic'],
  },
  {
    name: 'a wildcard (#) in a PUBLISH topic of its own namespace',
    category: 'topic',
    act: (c, x, me) => c.publish(x.outgoing(me, 'a#'), { text: 'hash' }),
    expected: ['closed', 'error:invalid_id', 'error:invalid_topic'],
  },
  {
    name: 'a recipient id of 129 characters',
    category: 'topic',
    act: (c, x, me) => c.publish(x.outgoing(me, 'r'.repeat(129)), { text: 'long' }),
    expected: 'error:invalid_id',
  },
  {
    name: 'a NUL in a topic level (MQTT forbids it)',
    category: 'topic',
    act: (c, x, me) => c.publish(x.outgoing(me, 'a\u0000b'), { text: 'nul' }),
    expected: ['closed', 'error:invalid_id'],
  },
];

// ─── Ids that collide with other kinds of ids ───────────────────────────────────────────────

const inline = (members: Record<string, 1>) => ({ name: 'g', members });

export const ID_CASES: readonly MqttCase[] = [
  {
    name: "an inline group whose id is a user's id (no channel_type): the capture of a direct conversation",
    category: 'id',
    act: (c, x, me) =>
      c.publish(x.outgoing(me, x.bystanders.b), {
        text: 'capture',
        group: inline({ [me]: 1, [x.bystanders.a]: 1 }),
      }),
    expected: 'error:invalid_payload',
    pending: 'hole 1 (group capture)',
  },
  {
    name: "an inline group with channel_type group whose id is a user's id",
    category: 'id',
    act: (c, x, me) =>
      c.publish(x.outgoing(me, x.bystanders.b), {
        text: 'capture',
        channel_type: 'group',
        group: inline({ [me]: 1, [x.bystanders.a]: 1 }),
      }),
    expected: 'error:invalid_group_id',
    pending: 'hole 1 (group capture)',
  },
  {
    name: "an inline group called 'system'",
    category: 'id',
    act: (c, x, me) =>
      c.publish(x.outgoing(me, 'system'), { text: 'sys', channel_type: 'group', group: inline({ [me]: 1 }) }),
    expected: ['error:invalid_group_id', 'error:reserved_id'],
    pending: 'hole 1 (group capture)',
  },
  {
    name: "an inline group with 'system' as a member",
    category: 'id',
    act: (c, x, me) =>
      c.publish(x.outgoing(me, `group-${me}-sys`), { text: 'sys', group: inline({ [me]: 1, system: 1 }) }),
    expected: 'error:reserved_id',
    pending: 'hole 1 (group capture)',
  },
  {
    name: 'an inline group with a group-form id as a member',
    category: 'id',
    act: (c, x, me) =>
      c.publish(x.outgoing(me, `group-${me}-nest`), {
        text: 'nest',
        group: inline({ [me]: 1, [x.group]: 1, 'group-other': 1 }),
      }),
    expected: 'error:reserved_id',
    pending: 'hole 1 (group capture)',
  },
  {
    name: 'an inline group with a member id that would break a topic',
    category: 'id',
    act: (c, x, me) =>
      c.publish(x.outgoing(me, `group-${me}-bad`), { text: 'bad', group: inline({ [me]: 1, 'bad id': 1 }) }),
    expected: 'error:invalid_id',
  },
  {
    name: 'an inline group re-declaring an existing group it is not a member of (takeover)',
    category: 'id',
    act: (c, x, me) =>
      c.publish(x.outgoing(me, x.group), {
        text: 'join me',
        channel_type: 'group',
        group: inline({ [me]: 1 }),
      }),
    expected: 'error:not_a_member',
  },
  {
    name: 'a message to a group it is not a member of',
    category: 'id',
    act: (c, x, me) => c.publish(x.outgoing(me, x.group), { text: 'let me in' }),
    expected: 'error:not_a_member',
  },
  {
    name: 'a direct message (no channel_type) to a group-form id that is no group',
    category: 'id',
    act: (c, x, me) => c.publish(x.outgoing(me, `group-${me}-nothing`), { text: 'to nobody' }),
    expected: 'error:group_not_found',
    pending: 'hole 1 (group capture)',
  },
  {
    name: 'channel_type group to an id that is no group',
    category: 'id',
    act: (c, x, me) =>
      c.publish(x.outgoing(me, `nothing-${me}`), { text: 'to nobody', channel_type: 'group' }),
    expected: 'error:group_not_found',
  },
  {
    name: "a receipt for bystander a's message to b (not its recipient)",
    category: 'id',
    act: (c, x, me) =>
      c.publish(x.topic('users', me, 'messages', x.bystanders.a, x.bystanderMessageId(), 'update'), {
        status: 200,
      }),
    expected: ['error:not_a_recipient', 'error:message_not_found'],
  },
  {
    name: 'a receipt for a message that does not exist',
    category: 'id',
    act: (c, x, me) =>
      c.publish(x.topic('users', me, 'messages', x.bystanders.a, randomUUID(), 'update'), { status: 200 }),
    expected: 'error:message_not_found',
  },
  {
    name: 'a receipt with a status other than 200',
    category: 'payload',
    act: (c, x, me) =>
      c.publish(x.topic('users', me, 'messages', x.bystanders.a, randomUUID(), 'update'), { status: 300 }),
    expected: 'error:invalid_payload',
  },
];

// ─── Payloads ────────────────────────────────────────────────────────────────────────────────

const utf8 = (text: string) => Buffer.from(text, 'utf8');

/** A JSON text with `\uXXXX` escapes kept as written (a lone surrogate cannot be built otherwise). */
const rawJson = (text: string) => Buffer.from(text, 'latin1');

const badJson: readonly (readonly [string, string | Buffer])[] = [
  ['unterminated string', '{"text": "oops'],
  ['unquoted key', '{text: "x"}'],
  ['single quotes', "{'text': 'x'}"],
  ['trailing garbage', '{"text": "x"} trailing'],
  ['trailing comma', '{"text": "x",}'],
  ['empty payload', ''],
  ['NaN', 'NaN'],
  ['undefined', '{"text": undefined}'],
  ['a byte-order mark before the JSON', '\ufeff{"text": "x"}'],
  ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80])],
  [
    'invalid UTF-8 inside a string',
    Buffer.concat([utf8('{"text": "a'), Buffer.from([0xc3, 0x28]), utf8('b"}')]),
  ],
  [
    'an overlong UTF-8 encoding of "/"',
    Buffer.concat([utf8('{"text": "'), Buffer.from([0xc0, 0xaf]), utf8('"}')]),
  ],
];

const wrongTypes: readonly (readonly [string, unknown])[] = [
  ['a JSON array', [1, 2, 3]],
  ['a JSON string', 'hi'],
  ['a JSON number', 42],
  ['JSON null', null],
  ['JSON true', true],
  ['text a number', { text: 42 }],
  ['text an object', { text: { html: '<b>' } }],
  ['text an array', { text: ['a'] }],
  ['type a number', { text: 'x', type: 5 }],
  ['attributes a string', { text: 'x', attributes: 'x' }],
  ['attributes an array', { text: 'x', attributes: [1] }],
  ['channel_type unknown', { text: 'x', channel_type: 'broadcast' }],
  ['timestamp a string', { text: 'x', timestamp: 'now' }],
  ['message_id not a UUID', { text: 'x', message_id: 'not-a-uuid' }],
  ['message_id a number', { text: 'x', message_id: 5 }],
  ['recipient_fullname a number', { text: 'x', recipient_fullname: 1 }],
  ['sender_fullname an object', { text: 'x', sender_fullname: {} }],
  ['group a string', { text: 'x', group: 'g' }],
  ['group members an array', { text: 'x', channel_type: 'group', group: { members: ['a'] } }],
];

export const PAYLOAD_CASES: readonly MqttCase[] = [
  ...badJson.map(
    ([name, body]): MqttCase => ({
      name: `bad JSON: ${name}`,
      category: 'payload',
      act: send(body),
      expected: 'error:invalid_json',
    }),
  ),
  ...wrongTypes.map(
    ([name, body]): MqttCase => ({
      name: `wrong type: ${name}`,
      category: 'payload',
      act: send(JSON.stringify(body)),
      expected: 'error:invalid_payload',
    }),
  ),
  {
    name: 'larger than the payload limit (70 KB)',
    category: 'payload',
    act: send({ text: 'x'.repeat(70 * 1024) }),
    expected: 'error:payload_too_large',
  },
  {
    name: 'a 2 MB packet',
    category: 'payload',
    act: send({ text: 'x'.repeat(2 * 1024 * 1024) }),
    expected: ['error:payload_too_large', 'closed'],
  },
  ...(
    [
      [
        'attributes nested 3,000 arrays deep (6 KB)',
        `{"text":"deep","attributes":{"a":${nested(3000, 'array')}}}`,
      ],
      [
        'attributes nested 2,000 objects deep (10 KB)',
        `{"text":"deep","attributes":${nested(2000, 'object')}}`,
      ],
      ['metadata nested 5,000 arrays deep (10 KB)', `{"text":"deep","metadata":${nested(5000, 'array')}}`],
      ['an unknown key nested 1,000 objects deep', `{"text":"deep","extra":${nested(1000, 'object')}}`],
    ] as const
  ).map(
    ([name, body]): MqttCase => ({
      name: `deep nesting: ${name}`,
      category: 'payload',
      act: send(body),
      expected: 'error:invalid_payload',
      pending: 'hole 2 (poison messages)',
    }),
  ),
  ...(
    [
      ['NUL in text', { text: 'before\u0000after' }],
      ['NUL in an attribute key', { text: 'x', attributes: { 'k\u0000': 1 } }],
      ['NUL deep in metadata', { text: 'x', metadata: { a: [{ b: 'x\u0000' }] } }],
      ['NUL as a top-level key', { text: 'x', '\u0000': 1 }],
      ['NUL in sender_fullname', { text: 'x', sender_fullname: '\u0000' }],
    ] as const
  ).map(
    ([name, body]): MqttCase => ({
      name,
      category: 'payload',
      act: send(body),
      expected: 'error:invalid_payload',
    }),
  ),
  ...(
    [
      ['a lone high surrogate in text', '{"text":"a\\ud800b"}'],
      ['a lone low surrogate in text', '{"text":"a\\udc00b"}'],
      ['surrogates in the wrong order', '{"text":"\\udc00\\ud800"}'],
      ['a lone surrogate in an attribute key', '{"text":"x","attributes":{"\\ud800":1}}'],
      ['a lone surrogate deep in metadata', '{"text":"x","metadata":[{"a":"\\udbff"}]}'],
    ] as const
  ).map(
    ([name, body]): MqttCase => ({
      name,
      category: 'payload',
      act: send(rawJson(body)),
      expected: 'error:invalid_payload',
      pending: 'hole 2 (anything the store cannot take)',
    }),
  ),
  // Prototype keys are data, never the prototype of anything: stored as sent, harmlessly.
  ...(
    [
      [
        '__proto__ carrying router-owned keys',
        '{"text":"proto","__proto__":{"sender":"someone-else","seq":999,"status":300}}',
      ],
      ['constructor.prototype', '{"text":"ctor","constructor":{"prototype":{"polluted":"yes"}}}'],
      [
        '__proto__ in attributes turning conversation updates off',
        '{"text":"attrs","attributes":{"__proto__":{"updateconversation":false}}}',
      ],
      ['__proto__ null', '{"text":"null proto","__proto__":null}'],
    ] as const
  ).map(
    ([name, body]): MqttCase => ({
      name: `prototype keys: ${name}`,
      category: 'payload',
      act: send(body),
      expected: ['accepted', 'error:invalid_payload'],
      stored: (row, me) => {
        assert(
          row.sender === me && row.body.sender === me,
          `stored sender ${row.sender}/${String(row.body.sender)}`,
        );
        assert(
          row.seq === 1 && row.body.seq === undefined,
          `seq ${row.seq}, body.seq ${String(row.body.seq)}`,
        );
        assert(row.body.status === undefined, `body.status ${String(row.body.status)}`);
        assert(({} as Record<string, unknown>).polluted === undefined, 'Object.prototype was polluted');
      },
    }),
  ),
  // Router-owned keys: the client's values are replaced, never stored.
  {
    name: 'router-owned keys: seq, status, sender, recipient, timestamp, app_id, __history',
    category: 'payload',
    act: send({
      text: 'owned',
      seq: 999_999,
      status: 300,
      sender: 'someone-else',
      recipient: 'someone-else',
      timestamp: 1,
      app_id: 'other-app',
      __history: true,
    }),
    expected: 'accepted',
    stored: (row, me, ctx) => {
      assert(row.sender === me && row.body.sender === me, `sender ${row.sender}/${String(row.body.sender)}`);
      assert(
        row.recipient === `sink-${me}` && row.body.recipient === `sink-${me}`,
        `recipient ${row.recipient}`,
      );
      assert(row.body.app_id === ctx.app, `app_id ${String(row.body.app_id)}`);
      assert(row.seq === 1 && row.body.seq === undefined, `seq ${row.seq}/${String(row.body.seq)}`);
      assert(row.body.status === undefined && row.body.__history === undefined, 'status/__history kept');
      assert(
        Number(row.body.timestamp) === row.created_at && row.created_at > 1_000_000,
        `timestamp ${String(row.body.timestamp)}`,
      );
    },
  },
  {
    name: 'a faked display name ("Bob (your boss)")',
    category: 'payload',
    act: send({ text: 'wire the money', sender_fullname: 'Bob (your boss)' }),
    expected: ['accepted', 'error:invalid_payload'],
    stored: (row) =>
      assert(row.body.sender_fullname !== 'Bob (your boss)', 'the client-chosen sender_fullname was kept'),
    pending: 'hole 5 (trusted display names)',
  },
  {
    name: 'a faked system notice (attributes.subtype "info")',
    category: 'payload',
    act: send({
      text: 'SYSTEM NOTICE: sign in again at https://evil.example',
      attributes: { subtype: 'info' },
    }),
    expected: ['accepted', 'error:invalid_payload'],
    stored: (row) => {
      const attributes = (row.body.attributes ?? {}) as Record<string, unknown>;
      assert(attributes.subtype !== 'info', 'a user stored an info message');
    },
    pending: 'hole 5 (trusted display names)',
  },
  {
    name: 'typing with a writer_fullname that is not a string',
    category: 'payload',
    act: (c, x, me) =>
      c.publish(x.topic('users', me, 'typing', x.bystanders.a), { typing: true, writer_fullname: 5 }),
    expected: 'error:invalid_payload',
  },
  {
    name: 'typing that is not JSON',
    category: 'payload',
    act: (c, x, me) => c.publish(x.topic('users', me, 'typing', x.bystanders.a), '{typing'),
    expected: 'error:invalid_json',
  },
  {
    name: 'a conversation update that is not an object',
    category: 'payload',
    act: (c, x, me) => c.publish(x.topic('users', me, 'conversations', x.bystanders.a, 'update'), '[true]'),
    expected: 'error:invalid_payload',
  },
];

// ─── Generated: ids in topic levels ─────────────────────────────────────────────────────────

/** Characters an id may not contain that a broker carries through a topic level unchanged. */
const BAD_ID_CHARS = [
  ' ',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\u000c',
  '\u0001',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0085',
  '\u0080',
  '\u009f',
  '\u00a0',
  '\u1680',
  '\u2000',
  '\u2007',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u3000',
  '\u00ad',
  '\u200b',
  '\u200c',
  '\u200d',
  '\u200e',
  '\u200f',
  '\u202a',
  '\u202e',
  '\u2060',
  '\u2066',
  '\ufeff',
  '\u{e0001}',
  '*',
];
/** C0/C1 controls: the MQTT spec lets a broker close the connection instead (§1.5.3). */
const isControl = (char: string) => /^\p{Cc}$/u.test(char);

const idPart = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_-'.split('')),
  minLength: 0,
  maxLength: 8,
});

/** An id that looks fine to a human but holds one or more characters ids may not contain. */
export const badIdArbitrary = fc
  .tuple(idPart, fc.array(fc.constantFrom(...BAD_ID_CHARS), { minLength: 1, maxLength: 3 }), idPart)
  .map(([before, bad, after]) => `${before}${bad.join('')}${after}`);

type LevelKind = 'recipient' | 'typing' | 'presence' | 'archive' | 'receipt';

export function generatedTopicCases(count: number): MqttCase[] {
  const kinds = fc.constantFrom<LevelKind>(
    'recipient',
    'recipient',
    'typing',
    'presence',
    'archive',
    'receipt',
  );
  const samples = fc.sample(fc.tuple(kinds, badIdArbitrary), { seed: CORPUS_SEED, numRuns: count });
  return samples.map(([kind, id]): MqttCase => {
    const topic = (x: CorpusContext, me: string): string => {
      switch (kind) {
        case 'recipient':
          return x.outgoing(me, id);
        case 'typing':
          return x.topic('users', me, 'typing', id);
        case 'presence':
          return x.topic('users', me, 'presence', id);
        case 'archive':
          return x.topic('users', me, 'conversations', id, 'archive');
        case 'receipt':
          return x.topic('users', me, 'messages', id, randomUUID(), 'update');
      }
    };
    const payload =
      kind === 'receipt'
        ? { status: 200 }
        : kind === 'presence'
          ? { connected: true }
          : { text: 'generated', typing: true };
    return {
      name: `generated ${kind} id ${JSON.stringify(id)}`,
      category: 'id',
      act: (c, x, me) => c.publish(topic(x, me), payload),
      expected: [...id].some(isControl) ? ['error:invalid_id', 'closed'] : 'error:invalid_id',
    };
  });
}
