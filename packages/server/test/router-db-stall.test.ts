import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine.js';
import { callApi } from './support/http-call.js';
import type { Received, TestClient } from './support/mqtt-client.js';
import { RouterProcess } from './support/router-process.js';
import { services } from './support/services.js';
import { TestStack } from './support/stack.js';
import { TcpProxy } from './support/tcp-proxy.js';

// PostgreSQL through a relay that stalls (forwards nothing, keeps the connections open) or resets
// its connections, under a stream of direct messages: half of the conversations with a
// message_id, half without (as Chat21 clients send them). Each conversation must arrive whole,
// once, in seq order without gaps, and be stored once.

/** Store timeouts short enough to see a stall within a test (the defaults are 5 s / 15 s). */
const SHORT_TIMEOUTS = {
  MERCURIO_DATABASE_CONNECT_TIMEOUT_MS: '2000',
  MERCURIO_DATABASE_STATEMENT_TIMEOUT_MS: '1500',
  MERCURIO_DATABASE_QUERY_TIMEOUT_MS: '2500',
  MERCURIO_RETRY_DELAY_MS: '200',
  // Exactly the messages sent: a message retried during the fault counts once.
  MERCURIO_RATE_MESSAGES: '100000',
};

interface Stream {
  sender: string;
  recipient: string;
  withIds: boolean;
  texts: string[];
}

function streams(pairs: [string, string][], perPair: number): Stream[] {
  return pairs.map(([sender, recipient], i) => ({
    sender,
    recipient,
    withIds: i % 2 === 0,
    texts: Array.from({ length: perPair }, (_, n) => `${sender} ${n}`),
  }));
}

async function proxiedPostgres(): Promise<{ proxy: TcpProxy; url: string }> {
  const pg = new URL(services().pgUrl);
  const proxy = await TcpProxy.start(pg.hostname, Number(pg.port));
  pg.port = String(proxy.port);
  return { proxy, url: pg.toString() };
}

async function send(stack: TestStack, clients: Map<string, TestClient>, stream: Stream): Promise<void> {
  const client = clients.get(stream.sender)!;
  for (const text of stream.texts) {
    const payload = stream.withIds ? { text, message_id: randomUUID() } : { text };
    await client.publish(stack.outgoing(stream.sender, stream.recipient), payload);
  }
}

/** The recipient's first copy of each message of the stream, in arrival order. */
function firstCopies(stack: TestStack, recipient: TestClient, stream: Stream): Received[] {
  const topic = stack.topic('users', stream.recipient, 'messages', stream.sender, 'clientadded');
  const seen = new Set<unknown>();
  return recipient.received.filter((m) => {
    if (m.topic !== topic || seen.has(m.payload.seq)) return false;
    seen.add(m.payload.seq);
    return true;
  });
}

function deliveredCount(stack: TestStack, clients: Map<string, TestClient>, all: Stream[]): number {
  return all.reduce((n, s) => n + firstCopies(stack, clients.get(s.recipient)!, s).length, 0);
}

/** Resolves once `condition` holds, checked every 25 ms; rejects after `timeoutMs`. */
async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The router's mercurio_router_paused gauge (0 where there is none: a router before pausing existed). */
async function paused(engine: Engine): Promise<number> {
  const gauge = engine.metrics.routerPaused as typeof engine.metrics.routerPaused | undefined;
  return (await gauge?.get())?.values[0]?.value ?? 0;
}

/** Every stream arrived whole, once each, in seq order without gaps, and is stored once. */
async function expectExactlyOnce(stack: TestStack, clients: Map<string, TestClient>, all: Stream[]) {
  for (const stream of all) {
    const got = firstCopies(stack, clients.get(stream.recipient)!, stream);
    const label = `${stream.sender} → ${stream.recipient} (${stream.withIds ? 'with' : 'without'} message_id)`;
    expect(
      got.map((m) => m.payload.seq),
      label,
    ).toEqual(stream.texts.map((_, i) => i + 1));
    expect(
      got.map((m) => m.payload.text),
      label,
    ).toEqual(stream.texts);
    const { rows } = await stack.sql.query(
      `SELECT count(*)::int AS n, count(DISTINCT seq)::int AS seqs, count(DISTINCT text)::int AS texts,
              max(seq)::int AS hi
       FROM messages WHERE app_id = $1 AND sender = $2 AND recipient = $3`,
      [stack.app, stream.sender, stream.recipient],
    );
    const n = stream.texts.length;
    expect(rows[0], `${label}: stored once each`).toEqual({ n, seqs: n, texts: n, hi: n });
  }
}

async function connect(stack: TestStack, all: Stream[]): Promise<Map<string, TestClient>> {
  const clients = new Map<string, TestClient>();
  for (const user of new Set(all.flatMap((s) => [s.sender, s.recipient])))
    clients.set(user, await stack.client(user));
  return clients;
}

describe('PostgreSQL stalls for 8 s in the middle of a stream', () => {
  const all = streams(
    [
      ['alice', 'bob'],
      ['carol', 'bob'],
    ],
    150,
  );
  let proxy: TcpProxy;
  let stack: TestStack;
  let clients: Map<string, TestClient>;

  beforeAll(async () => {
    const pg = await proxiedPostgres();
    proxy = pg.proxy;
    stack = new TestStack('dbstall', { MERCURIO_DATABASE_URL: pg.url, ...SHORT_TIMEOUTS });
    await stack.startRouter();
    clients = await connect(stack, all);
  });
  afterAll(async () => {
    proxy.restore();
    await stack.close();
    await proxy.close();
  });

  it('pauses, answers HTTP with 503 store_unavailable, and delivers everything once after', {
    timeout: 60_000,
  }, async () => {
    const api = await stack.http();
    const bob = await stack.token('bob');
    const total = all.reduce((n, s) => n + s.texts.length, 0);
    const sending = Promise.all(all.map((stream) => send(stack, clients, stream)));
    await until(() => deliveredCount(stack, clients, all) >= 40, 20_000, 'the stream flows');

    proxy.stall();
    const stalledAt = Date.now();
    // The HTTP API answers within its timeouts, with a code a client can act on.
    const asked = Date.now();
    const response = await callApi(api, bob, 'GET', `/api/${stack.app}/bob/conversations`);
    const httpMs = Date.now() - asked;
    expect(response.statusCode).toBe(503);
    expect(response.headers['x-mercurio-error']).toBe('store_unavailable');
    expect(response.headers['retry-after']).toBeDefined();
    expect(httpMs).toBeLessThan(6_000);
    // The router noticed and paused (its consumers cancelled).
    await until(async () => (await paused(stack.router!)) === 1, 10_000, 'the router pauses');
    const pausedMs = Date.now() - stalledAt;
    // The stall lasts 8 s: the fault's duration, not a wait for a condition.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stalledAt + 8_000 - Date.now())));
    const atRestore = deliveredCount(stack, clients, all);
    expect(atRestore, 'the stall stopped the stream').toBeLessThan(total);
    proxy.restore();
    const restoredAt = Date.now();

    await until(() => deliveredCount(stack, clients, all) > atRestore, 10_000, 'the stream flows again');
    const flowingMs = Date.now() - restoredAt;
    await sending;
    await until(() => deliveredCount(stack, clients, all) >= total, 30_000, 'every message delivered');
    const completeMs = Date.now() - restoredAt;
    await until(async () => (await paused(stack.router!)) === 0, 10_000, 'the router resumes');

    console.log(
      `[db-stall] HTTP answered in ${httpMs} ms during the stall; router paused ${pausedMs} ms after the stall began; ` +
        `after the stall ended: flowing again in ${flowingMs} ms, all ${total} delivered in ${completeMs} ms`,
    );
    expect(flowingMs).toBeLessThan(10_000);
    await expectExactlyOnce(stack, clients, all);
  });
});

describe('PostgreSQL connections reset again and again while messages are committed', () => {
  const all = streams(
    [
      ['alice', 'bob'],
      ['carol', 'bob'],
    ],
    200,
  );
  let proxy: TcpProxy;
  let stack: TestStack;
  let clients: Map<string, TestClient>;

  beforeAll(async () => {
    const pg = await proxiedPostgres();
    proxy = pg.proxy;
    stack = new TestStack('dbreset', { MERCURIO_DATABASE_URL: pg.url, ...SHORT_TIMEOUTS });
    await stack.startRouter();
    clients = await connect(stack, all);
  });
  afterAll(async () => {
    await stack.close();
    await proxy.close();
  });

  it('stores each message once and the recipient sees no gap', { timeout: 60_000 }, async () => {
    const total = all.reduce((n, s) => n + s.texts.length, 0);
    const sending = Promise.all(all.map((stream) => send(stack, clients, stream)));
    let resets = 0;
    for (const at of [40, 80, 120, 160, 200, 240]) {
      await until(() => deliveredCount(stack, clients, all) >= at, 30_000, `${at} delivered`);
      resets += proxy.connections;
      proxy.reset();
    }
    await sending;
    await until(() => deliveredCount(stack, clients, all) >= total, 30_000, 'every message delivered');
    console.log(`[db-reset] 6 resets (${resets} relayed connections cut); all ${total} delivered`);
    await expectExactlyOnce(stack, clients, all);
  });
});

describe('two routers, one whose path to PostgreSQL stalls', () => {
  const all = streams(
    [
      ['alice', 'bob'],
      ['carol', 'bob'],
      ['dave', 'erin'],
      ['frank', 'erin'],
    ],
    50,
  );
  let proxy: TcpProxy;
  let stack: TestStack;
  let healthy: RouterProcess;
  let clients: Map<string, TestClient>;

  beforeAll(async () => {
    const pg = await proxiedPostgres();
    proxy = pg.proxy;
    // The sick router runs here (its database through the relay), the healthy one in a child.
    stack = new TestStack('dbsick', { MERCURIO_DATABASE_URL: pg.url, ...SHORT_TIMEOUTS });
    await stack.startRouter();
    healthy = new RouterProcess({
      ...stack.routerEnv,
      ...SHORT_TIMEOUTS,
      // Info, so that it prints "router consuming" once ready.
      MERCURIO_LOG_LEVEL: 'info',
    });
    await healthy.start();
    clients = await connect(stack, all);
  }, 60_000);
  afterAll(async () => {
    proxy.restore();
    await healthy.kill('SIGTERM');
    await stack.close();
    await proxy.close();
  });

  it('the healthy router takes the work while the sick one is still stalled', {
    timeout: 60_000,
  }, async () => {
    const total = all.reduce((n, s) => n + s.texts.length, 0);
    proxy.stall();
    const stalledAt = Date.now();
    let handedBackMs: number | undefined;
    const watching = until(async () => (await paused(stack.router!)) === 1, 20_000, 'the sick router pauses')
      .then(() => {
        handedBackMs = Date.now() - stalledAt;
      })
      .catch(() => {});
    await Promise.all(all.map((stream) => send(stack, clients, stream)));
    await until(() => deliveredCount(stack, clients, all) >= total, 15_000, 'every message delivered');
    const deliveredMs = Date.now() - stalledAt;
    await watching;
    // Still stalled: every message was stored by the healthy router.
    expect(await paused(stack.router!)).toBe(1);
    console.log(
      `[db-sick-router] sick router paused and handed back ${handedBackMs} ms after the stall began; ` +
        `all ${total} delivered by the healthy router ${deliveredMs} ms after it, the sick one still stalled`,
    );
    expect(deliveredMs).toBeLessThan(12_000);
    // The stall ends: the sick router resumes; what it kept in place finds itself stored.
    proxy.restore();
    await until(async () => (await paused(stack.router!)) === 0, 15_000, 'the sick router resumes');
    // Order across two routers is not promised (competing consumers): exactly once and gapless is.
    for (const stream of all) {
      const got = firstCopies(stack, clients.get(stream.recipient)!, stream);
      expect(new Set(got.map((m) => m.payload.seq)).size).toBe(stream.texts.length);
      expect(new Set(got.map((m) => m.payload.text))).toEqual(new Set(stream.texts));
      const { rows } = await stack.sql.query(
        `SELECT count(*)::int AS n, count(DISTINCT text)::int AS texts, max(seq)::int AS hi
         FROM messages WHERE app_id = $1 AND sender = $2 AND recipient = $3`,
        [stack.app, stream.sender, stream.recipient],
      );
      const n = stream.texts.length;
      expect(rows[0]).toEqual({ n, texts: n, hi: n });
    }
  });
});
