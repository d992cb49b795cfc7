import { setTimeout as sleep } from 'node:timers/promises';
import { chat21UserScopes, userScopes } from '@mercurio/protocol';
import { SignJWT } from 'jose';
import type { IClientOptions } from 'mqtt';
import type { BrokerKind } from './brokers.js';
import type { TestClient } from './mqtt-client.js';

/**
 * What a broker does with a client, as the client sees it:
 * - 'refused at connect': no session (over TCP RabbitMQ answers CONNACK "bad username or
 *   password" / "not authorized"; over Web-MQTT it closes the socket before any CONNACK);
 * - 'closed': connected, then the connection is closed at the action (MQTT 3.1.1 has no
 *   per-publish refusal, and RabbitMQ sends no SUBACK failure code);
 * - 'allowed': the action completes and the connection stays open.
 */
export type Outcome = 'refused at connect' | 'closed' | 'allowed';

export interface AclContext {
  app: string;
  /** `apps/<app>/…` in MQTT form. */
  topic(...levels: string[]): string;
  /** A token as Mercurio issues it to `user` of this app. */
  token(user: string, ttlSeconds?: number): Promise<string>;
  /** A token with these claims, signed with the broker's secret unless told otherwise. */
  sign(claims: Record<string, unknown>, options?: SignOptions): Promise<string>;
  /** Another connection of `user`, subscribed to their whole inbox: what reaches them. */
  watch(user: string): Promise<TestClient>;
}

export interface SignOptions {
  secret?: string;
  audience?: string[];
  /** Seconds since the epoch; null: no `exp` claim. Default: in an hour. */
  expiresAt?: number | null;
}

export interface AclCase {
  name: string;
  /** The acting user; unique per case so that cases never see each other. */
  user: string;
  /** Default: `ctx.token(user)`. */
  token?: (ctx: AclContext) => Promise<string>;
  connectOptions?: (ctx: AclContext) => IClientOptions;
  /** What the client does once connected (its promise may never settle when refused). */
  act?: (client: TestClient, ctx: AclContext) => Promise<void>;
  /** The same on every broker, except the differences listed with a reason. */
  expected: Outcome | Record<BrokerKind, Outcome>;
  /** A user whose inbox is watched (subscribed before the act) and handed to `check`. */
  watch?: string;
  /** Runs after the outcome was seen: what must (or must not) have happened. */
  check?: (client: TestClient, ctx: AclContext, watcher: TestClient | undefined) => Promise<void>;
  /** The act closes its own connection on purpose (a last will): skip the "still open" check. */
  closesItself?: boolean;
  /** Why the brokers differ, when `expected` says they do. */
  difference?: string;
}

const seconds = () => Math.floor(Date.now() / 1000);

/** Nothing with this text reached `watcher` (what was refused was not delivered). */
async function nothingReached(watcher: TestClient | undefined, text: string): Promise<void> {
  await sleep(300);
  if (!watcher) throw new Error('no watcher');
  if (watcher.received.some((message) => message.payload.text === text)) {
    throw new Error(`a refused publish reached the watched inbox: ${text}`);
  }
}

/** The table both brokers must answer alike (broker-refusals.test.ts). */
export const ACL_CASES: readonly AclCase[] = [
  // Allowed controls: a user's own namespace works.
  {
    name: 'subscribes to its own inbox and publishes into it',
    user: 'self',
    act: async (client, ctx) => {
      await client.subscribe(ctx.topic('users', 'self', '#'));
      await client.publish(ctx.topic('users', 'self', 'ping'), { text: 'ping' });
      await client.waitFor((m) => m.topic === ctx.topic('users', 'self', 'ping'));
    },
    expected: 'allowed',
  },
  {
    name: 'publishes a message of its own (outgoing)',
    user: 'sender',
    act: (client, ctx) =>
      client.publish(ctx.topic('outgoing', 'users', 'sender', 'messages', 'someone', 'outgoing'), {
        text: 'hi',
      }),
    expected: 'allowed',
  },
  {
    name: 'leaves a presence last will on its own presence topic',
    user: 'mortal',
    connectOptions: (ctx) => ({
      will: {
        topic: ctx.topic('users', 'mortal', 'presence', 'tab1'),
        payload: Buffer.from('{"disconnected":true}'),
        qos: 1,
        retain: false,
      },
    }),
    act: async (client, ctx) => {
      const watcher = await ctx.watch('mortal');
      client.mqtt.stream.destroy(); // abrupt: the broker publishes the will
      await watcher.waitFor(
        (m) =>
          m.topic === ctx.topic('users', 'mortal', 'presence', 'tab1') && m.payload.disconnected === true,
      );
    },
    closesItself: true,
    expected: 'allowed',
  },
  {
    name: "a token with Chat21's own (broader) scope set, as Tiledesk issues it",
    user: 'legacy',
    token: (ctx) => ctx.sign({ sub: 'legacy', scope: chat21UserScopes(ctx.app, 'legacy') }),
    act: async (client, ctx) => {
      await client.subscribe(ctx.topic('users', 'legacy', '#'));
      await client.publish(ctx.topic('users', 'legacy', 'ping'), { text: 'ping' });
      await client.waitFor((m) => m.topic === ctx.topic('users', 'legacy', 'ping'));
    },
    expected: 'allowed',
  },
  {
    name: "a '.' in a level of its own topic is a level separator (RabbitMQ's mapping)",
    user: 'dotty',
    act: async (client, ctx) => {
      await client.subscribe(ctx.topic('users', 'dotty', '#'));
      await client.publish(ctx.topic('users', 'dotty', 'x.y'), { text: 'dot' });
      await client.waitFor((m) => m.topic === ctx.topic('users', 'dotty', 'x', 'y'));
    },
    expected: 'allowed',
  },

  // Publishing or subscribing outside the token's scopes closes the connection.
  {
    name: "publishes into another user's inbox",
    user: 'intruder1',
    watch: 'victim1',
    act: (client, ctx) =>
      client.publish(ctx.topic('users', 'victim1', 'messages', 'intruder1', 'clientadded'), {
        text: 'fake1',
      }),
    check: (_client, _ctx, victim) => nothingReached(victim, 'fake1'),
    expected: 'closed',
  },
  {
    name: "publishes into another user's inbox with QoS 0",
    user: 'intruder2',
    watch: 'victim2',
    act: (client, ctx) =>
      client.publish(
        ctx.topic('users', 'victim2', 'messages', 'intruder2', 'clientadded'),
        { text: 'fake2' },
        0,
      ),
    check: (_client, _ctx, victim) => nothingReached(victim, 'fake2'),
    expected: 'closed',
  },
  {
    name: 'sends a message as another user',
    user: 'intruder3',
    act: (client, ctx) =>
      client.publish(ctx.topic('outgoing', 'users', 'victim3', 'messages', 'intruder3', 'outgoing'), {
        text: 'as victim',
      }),
    expected: 'closed',
  },
  {
    name: "subscribes to another user's inbox",
    user: 'intruder4',
    act: (client, ctx) => client.subscribe(ctx.topic('users', 'victim4', '#')),
    expected: 'closed',
  },
  {
    name: "subscribes to every user's inbox with a wildcard",
    user: 'intruder5',
    act: (client, ctx) => client.subscribe(ctx.topic('users', '+', '#')),
    expected: 'closed',
  },
  {
    name: 'subscribes to the whole app',
    user: 'intruder6',
    act: (client, ctx) => client.subscribe(ctx.topic('#')),
    expected: 'closed',
  },
  {
    name: 'announces a group change (a services-only topic)',
    user: 'intruder7',
    act: (client, ctx) => client.publish(`apps/observer/${ctx.app}/groups/update`, { group: {} }),
    expected: 'closed',
  },
  {
    name: "uses a '.' to reach another user's namespace",
    user: 'intruder8',
    act: (client, ctx) => client.publish(ctx.topic('users', 'victim8.messages'), { text: 'dot' }),
    expected: 'closed',
  },
  {
    name: 'publishes after its token expired',
    user: 'late',
    token: (ctx) => ctx.token('late', 2),
    act: async (client, ctx) => {
      await sleep(3000);
      await client.publish(ctx.topic('users', 'late', 'ping'), { text: 'too late' });
    },
    expected: 'closed',
  },

  // Tokens the broker refuses at CONNECT.
  {
    name: 'an expired token',
    user: 'expired',
    token: (ctx) =>
      ctx.sign({ sub: 'expired', scope: userScopes(ctx.app, 'expired') }, { expiresAt: seconds() - 60 }),
    expected: 'refused at connect',
  },
  {
    name: 'a token with a wrong signature',
    user: 'forger',
    token: (ctx) =>
      ctx.sign(
        { sub: 'forger', scope: userScopes(ctx.app, 'forger') },
        { secret: 'not-the-secret-not-the-secret-not-the-secret' },
      ),
    expected: 'refused at connect',
  },
  {
    name: 'no token',
    user: 'anonymous',
    token: async () => '',
    expected: 'refused at connect',
  },
  {
    name: 'not a JWT',
    user: 'garbage',
    token: async () => 'not-a-jwt',
    expected: 'refused at connect',
  },
  {
    name: 'a token for another audience',
    user: 'elsewhere',
    token: (ctx) =>
      ctx.sign({ sub: 'elsewhere', scope: userScopes(ctx.app, 'elsewhere') }, { audience: ['elsewhere'] }),
    expected: 'refused at connect',
  },
  {
    name: 'a token without any scope',
    user: 'scopeless',
    token: (ctx) => ctx.sign({ sub: 'scopeless', scope: [] }),
    expected: 'refused at connect',
  },

  // Known, deliberate differences.
  {
    name: 'a token without `exp`',
    user: 'forever',
    token: (ctx) => ctx.sign({ sub: 'forever', scope: userScopes(ctx.app, 'forever') }, { expiresAt: null }),
    expected: { rabbitmq: 'allowed', embedded: 'refused at connect' },
    difference:
      'RabbitMQ 3.10 accepts a token that never expires; the embedded broker requires `exp` (Mercurio always sets it).',
  },
];

/** Signs a token as a test would forge one. */
export function signToken(
  claims: Record<string, unknown>,
  secret: string,
  options: SignOptions = {},
): Promise<string> {
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience(options.audience ?? ['rabbitmq', String(claims.sub)])
    .setIssuedAt();
  if (typeof claims.sub === 'string') jwt = jwt.setSubject(claims.sub);
  const expiresAt = options.expiresAt === undefined ? seconds() + 3600 : options.expiresAt;
  if (expiresAt !== null) jwt = jwt.setExpirationTime(expiresAt);
  return jwt.sign(new TextEncoder().encode(options.secret ?? secret));
}
