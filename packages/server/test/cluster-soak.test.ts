/**
 * Soak (issue 13): two routers (child processes) on the 3-node RabbitMQ cluster of
 * scripts/cluster.sh, clients spread over the three nodes, direct conversations and a group.
 *   1. The direct peak across the cluster, measured first: a closed loop end to end (every lane
 *      keeps WINDOW messages sent and not yet received) for PEAK_MS.
 *   2. A steady open-loop stream at LOAD_SHARE (30%) of that peak for MERCURIO_SOAK_SECONDS
 *      (default 600): message n is due at t0 + n / rate, round robin over the lanes.
 * Every SAMPLE_MS the resident memory (VmRSS) of each router process and of each node's VM
 * (beam.smp) is sampled. Asserted: every acknowledged message stored once and delivered to every
 * recipient, in the order sent; memory flat (MEMORY_RULE below). A table of the samples goes to
 * stderr (`[cluster-soak] …`) and the outcome to docs/scaling.md's fault table.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { inboxPattern } from '@mercurio/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/auth/tokens.js';
import { loadConfig } from '../src/config.js';
import { createPgDatabase } from '../src/store/pg-database.js';
import { openSqlStore } from '../src/store/sql-store.js';
import { cluster, type NodeNumber, type TestCluster } from './support/cluster.js';
import { recordFaultResult } from './support/fault-results.js';
import { RouterProcess } from './support/router-process.js';
import { deleteRouterQueues } from './support/router-queues.js';
import { services } from './support/services.js';

const SOAK_SECONDS = Number(process.env.MERCURIO_SOAK_SECONDS ?? 600);
/** A sample every 15 s (the brief's period); shorter runs still get nine samples, three per third. */
const SAMPLE_MS = Math.min(15_000, Math.floor((SOAK_SECONDS * 1000) / 9));
/** The closed-loop peak run, and what each of its lanes keeps in flight end to end. */
const PEAK_MS = 10_000;
const WINDOW = 8;
/** The soak's rate as a share of the measured direct peak. */
const LOAD_SHARE = 0.3;
/**
 * Memory flat: for every process, mean(last third of the samples) ≤ mean(second third) × 1.15
 * + 20 MB. The first third is warm-up (V8 compiles and grows its heap, the brokers fill their Raft
 * logs and session queues up to the steady state) and is not compared. Comparing means of thirds
 * rather than single samples absorbs garbage collection's sawtooth; 15% covers a heap settling a
 * step higher, 20 MB the noise of a small process. At 30% of the peak what stays is a leak that
 * grows faster than that between the middle and the end of the run (at ~50 msg/s over 200 s:
 * more than ~2 KB per message on top of 15%), i.e. anything kept per message or per delivery.
 */
const MEMORY_RULE = { factor: 1.15, slackMb: 20 };

const execFileAsync = promisify(execFile);

function report(line: string): void {
  process.stderr.write(`[cluster-soak] ${line}\n`);
}

/** One conversation stream: a sender to a user (direct) or to the group. */
interface Lane {
  sender: string;
  to: string;
  group: boolean;
  client: MqttClient;
  topic: string;
  /** Send time of each message, by index (`<sender> <index>` is its text). */
  sentAt: number[];
  acked: number;
  /** Sent and not yet received by its recipient (direct lanes, for the closed loop). */
  inflight: number;
  wake?: () => void;
}

/** What one recipient saw from one sender. */
interface Seen {
  indexes: Set<number>;
  last: number;
  inversions: number;
  duplicates: number;
}

interface Sample {
  atS: number;
  sentPerS: number;
  deliveredPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Resident memory in MB, by process label. */
  rssMb: Record<string, number>;
}

const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** VmRSS of a process in MB, or NaN once it is gone. */
async function rssMb(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const mx = mean(points.map(([x]) => x));
  const my = mean(points.map(([, y]) => y));
  const sxx = points.reduce((n, [x]) => n + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((n, [x, y]) => n + (x - mx) * (y - my), 0) / sxx;
}

/** Each node's memory held by Ra's ETS tables (quorum queues' in-memory log), in MB; NaN if it does not answer. */
async function quorumEtsMb(testCluster: TestCluster): Promise<number[]> {
  return Promise.all(
    ([1, 2, 3] as const).map(async (node) => {
      try {
        const out = await testCluster.ctl(node, [
          '-q',
          'eval',
          'proplists:get_value(quorum_ets, rabbit_vm:memory()).',
        ]);
        return Math.round(Number(out.trim()) / 1024 / 102.4) / 10;
      } catch {
        return Number.NaN;
      }
    }),
  );
}

/** Node n's Erlang VM: the beam.smp process in its network namespace (scripts/cluster.sh). */
async function beamPid(node: NodeNumber): Promise<number> {
  const { stdout } = await execFileAsync('ip', ['netns', 'pids', `mercurio-c${node}`]);
  for (const pid of stdout.split('\n').filter(Boolean).map(Number)) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'beam.smp') return pid;
  }
  throw new Error(`no beam.smp in namespace mercurio-c${node}`);
}

describe('soak: two routers on the 3-node cluster at 30% of the direct peak', () => {
  let testCluster: TestCluster;
  const app = `cls-${randomUUID().slice(0, 8)}`;
  const prefix = `test-${app}`;
  const routers: RouterProcess[] = [];
  const clients: MqttClient[] = [];
  /** Users whose clean=false sessions are removed at the end. */
  const sessions: { user: string; home: NodeNumber }[] = [];
  let sql: pg.Pool;
  let jwt: { secret: string; resourceServerId: string };

  const nodesFrom = (first: NodeNumber): NodeNumber[] =>
    [0, 1, 2].map((i) => (((first - 1 + i) % 3) + 1) as NodeNumber);

  const routerEnv = (first: NodeNumber): Record<string, string> => ({
    MERCURIO_JWT_SECRET: testCluster.env.jwtSecret,
    MERCURIO_AMQP_URL: nodesFrom(first)
      .map((n) => testCluster.env.amqpUrls[n - 1]!)
      .join(','),
    MERCURIO_DATABASE_URL: services().pgUrl,
    MERCURIO_APP_ID: app,
    MERCURIO_QUEUE_PREFIX: prefix,
    MERCURIO_LOG_LEVEL: 'info',
    MERCURIO_RATE_MESSAGES: '1000000',
  });

  async function connect(user: string, home: NodeNumber, clean: boolean): Promise<MqttClient> {
    const token = await signUserToken(jwt, { app, user, ttlSeconds: 3600 });
    const client = await mqtt.connectAsync(testCluster.env.mqttUrls[home - 1]!, {
      protocolVersion: 4,
      username: 'JWT',
      password: token,
      clientId: `${app}-${user}`,
      clean,
      keepalive: 10,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
    });
    clients.push(client);
    return client;
  }

  async function createGroup(uid: string, members: string[]): Promise<void> {
    const db = createPgDatabase(services().pgUrl, 1);
    try {
      const store = await openSqlStore(db);
      const now = Date.now();
      await store.createGroupIfAbsent({
        app,
        uid,
        name: uid,
        owner: members[0]!,
        members,
        attributes: null,
        volatile: false,
        createdOn: now,
        updatedOn: now,
      });
    } finally {
      await db.close();
    }
  }

  beforeAll(async () => {
    testCluster = cluster();
    jwt = { secret: testCluster.env.jwtSecret, resourceServerId: 'rabbitmq' };
    sql = new pg.Pool({ connectionString: services().pgUrl, max: 2 });
    // Router A first on node 1, router B on node 3; both take half of the shards.
    for (const first of [1, 3] as const) {
      const router = new RouterProcess(routerEnv(first));
      routers.push(router);
      await router.start();
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.endAsync(true)));
    // clean=false sessions are quorum queues on every node: end them rather than leave them for
    // the hour of mqtt.subscription_ttl.
    await Promise.allSettled(
      sessions.map(async ({ user, home }) => (await connect(user, home, true)).endAsync()),
    );
    await Promise.allSettled(routers.map((router) => router.kill('SIGTERM')));
    await sql?.end();
    const config = loadConfig({
      MERCURIO_JWT_SECRET: testCluster.env.jwtSecret,
      MERCURIO_AMQP_URL: testCluster.env.amqpUrls.join(','),
      MERCURIO_DATABASE_URL: services().pgUrl,
      MERCURIO_QUEUE_PREFIX: prefix,
    });
    await deleteRouterQueues(config, testCluster.env.amqpUrls[1]).catch(() => {});
  }, 180_000);

  it(`${SOAK_SECONDS} s at 30% of the peak: every message delivered once, memory flat`, {
    timeout: SOAK_SECONDS * 1000 + 240_000,
  }, async () => {
    const started = Date.now();
    // Six recipients, two per node; twelve direct senders, four per node, two to each recipient
    // (never on the recipient's node); a group of two senders and three of the recipients.
    const nodeOf = (i: number): NodeNumber => (((i - 1) % 3) + 1) as NodeNumber;
    const recipients = [1, 2, 3, 4, 5, 6].map((i) => ({ user: `r${i}`, home: nodeOf(i) }));
    const group = 'group-soak';
    const members = ['g1', 'g2', 'r1', 'r2', 'r3'];
    await createGroup(group, members);

    const seen = new Map<string, Seen>();
    const key = (recipient: string, sender: string) => `${recipient} ${sender}`;
    const lanes = new Map<string, Lane>();
    const latencies: number[] = [];
    let delivered = 0;
    for (const { user, home } of recipients) {
      const client = await connect(user, home, false);
      sessions.push({ user, home });
      client.on('message', (topic, raw) => {
        const levels = topic.split('/');
        if (levels.at(-1) !== 'clientadded' || levels[4] !== 'messages') return;
        const payload = JSON.parse(raw.toString()) as { sender: string; text: string };
        const index = Number(payload.text.split(' ')[1]);
        const k = key(user, payload.sender);
        const s = seen.get(k) ?? { indexes: new Set<number>(), last: -1, inversions: 0, duplicates: 0 };
        seen.set(k, s);
        if (s.indexes.has(index)) {
          s.duplicates++;
          return;
        }
        s.indexes.add(index);
        if (index < s.last) s.inversions++;
        s.last = Math.max(s.last, index);
        delivered++;
        const lane = lanes.get(payload.sender)!;
        latencies.push(Date.now() - lane.sentAt[index]!);
        if (!lane.group) {
          lane.inflight--;
          lane.wake?.();
        }
      });
      await client.subscribeAsync(inboxPattern(app, user, 'mqtt'), { qos: 1 });
    }
    for (let i = 1; i <= 12; i++) {
      const sender = `s${i}`;
      const to = `r${((i - 1) % 6) + 1}`;
      const home = nodeOf(i + 1); // s1 (to r1 on node 1) on node 2, …
      const client = await connect(sender, home, true);
      const topic = `apps/${app}/outgoing/users/${sender}/messages/${to}/outgoing`;
      lanes.set(sender, { sender, to, group: false, client, topic, sentAt: [], acked: 0, inflight: 0 });
    }
    for (const [i, sender] of ['g1', 'g2'].entries()) {
      const client = await connect(sender, (i + 2) as NodeNumber, true);
      const topic = `apps/${app}/outgoing/users/${sender}/messages/${group}/outgoing`;
      lanes.set(sender, { sender, to: group, group: true, client, topic, sentAt: [], acked: 0, inflight: 0 });
    }
    const send = (lane: Lane) => {
      const index = lane.sentAt.length;
      lane.sentAt.push(Date.now());
      if (!lane.group) lane.inflight++;
      const body = {
        text: `${lane.sender} ${index}`,
        type: 'text',
        message_id: randomUUID(),
        ...(lane.group ? { channel_type: 'group' } : {}),
      };
      lane.client.publish(lane.topic, JSON.stringify(body), { qos: 1 }, (error) => {
        if (!error) lane.acked++;
      });
    };
    const sentTotal = () => [...lanes.values()].reduce((n, lane) => n + lane.sentAt.length, 0);
    const receiversOf = (lane: Lane) => (lane.group ? ['r1', 'r2', 'r3'] : [lane.to]);
    const allDelivered = () =>
      [...lanes.values()].every((lane) =>
        receiversOf(lane).every(
          (r) => (seen.get(key(r, lane.sender))?.indexes.size ?? 0) >= lane.sentAt.length,
        ),
      );
    async function drain(what: string, timeoutMs = 60_000): Promise<number> {
      const from = Date.now();
      while (!allDelivered() || [...lanes.values()].some((lane) => lane.acked < lane.sentAt.length)) {
        if (Date.now() - from > timeoutMs)
          throw new Error(`${what}: not every message delivered in ${timeoutMs} ms`);
        await sleep(100);
      }
      return Date.now() - from;
    }
    report(`setup (2 routers, ${clients.length} clients) in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // 1. The direct peak: a closed loop end to end on the twelve direct lanes.
    const direct = [...lanes.values()].filter((lane) => !lane.group);
    const peakStart = Date.now();
    let deliveredAfterWarmup = 0;
    const warmupTimer = setTimeout(() => {
      deliveredAfterWarmup = delivered;
    }, 1000);
    await Promise.all(
      direct.map(async (lane) => {
        while (Date.now() - peakStart < PEAK_MS) {
          while (lane.inflight < WINDOW) send(lane);
          const woken = await Promise.race([
            new Promise<boolean>((resolve) => {
              lane.wake = () => resolve(true);
            }),
            sleep(30_000, false),
          ]);
          lane.wake = undefined;
          if (!woken) throw new Error(`peak: ${lane.sender} received nothing for 30 s`);
        }
      }),
    );
    clearTimeout(warmupTimer);
    const peak = (delivered - deliveredAfterWarmup) / ((Date.now() - peakStart - 1000) / 1000);
    const peakLatency = { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
    const drainedMs = await drain('peak');
    const rate = Math.max(1, Math.round(peak * LOAD_SHARE));
    report(
      `direct peak ${peak.toFixed(0)} msg/s (closed loop, ${direct.length} lanes × ${WINDOW} in flight, ` +
        `${PEAK_MS / 1000} s; p50 ${peakLatency.p50} ms, p99 ${peakLatency.p99} ms; drained in ${drainedMs} ms) ` +
        `→ soak at ${rate} msg/s (${LOAD_SHARE * 100}%) for ${SOAK_SECONDS} s, 1 message in ${lanes.size / 2} to the group`,
    );

    // 2. The soak: open loop at `rate`, sampling memory every SAMPLE_MS.
    const pids: Record<string, () => Promise<number>> = {
      'router A': async () => routers[0]!.pid!,
      'router B': async () => routers[1]!.pid!,
      'node 1': () => beamPid(1),
      'node 2': () => beamPid(2),
      'node 3': () => beamPid(3),
    };
    const quorumEtsBefore = await quorumEtsMb(testCluster);
    const resolved = new Map<string, number>();
    for (const [label, find] of Object.entries(pids)) resolved.set(label, await find());
    const samples: Sample[] = [];
    const soakStart = Date.now();
    const soakEnd = soakStart + SOAK_SECONDS * 1000;
    const laneList = [...lanes.values()];
    let sampling = true;
    const sampler = (async () => {
      let lastSent = sentTotal();
      let lastDelivered = delivered;
      let lastLatencies = latencies.length;
      for (let n = 1; sampling; n++) {
        const due = soakStart + n * SAMPLE_MS;
        if (due > soakEnd + 100) break;
        await sleep(Math.max(0, due - Date.now()));
        const rss: Record<string, number> = {};
        for (const [label, pid] of resolved) rss[label] = Math.round((await rssMb(pid)) * 10) / 10;
        const window = latencies.slice(lastLatencies);
        samples.push({
          atS: Math.round((Date.now() - soakStart) / 1000),
          sentPerS: Math.round((sentTotal() - lastSent) / (SAMPLE_MS / 1000)),
          deliveredPerS: Math.round((delivered - lastDelivered) / (SAMPLE_MS / 1000)),
          p50Ms: percentile(window, 50),
          p99Ms: percentile(window, 99),
          rssMb: rss,
        });
        lastSent = sentTotal();
        lastDelivered = delivered;
        lastLatencies = latencies.length;
      }
    })();
    const soakLatencyFrom = latencies.length;
    let next = 0;
    let maxLagMs = 0;
    while (Date.now() < soakEnd) {
      const now = Date.now();
      while (soakStart + (next * 1000) / rate <= now) {
        maxLagMs = Math.max(maxLagMs, Math.round(now - (soakStart + (next * 1000) / rate)));
        send(laneList[next % laneList.length]!);
        next++;
      }
      await sleep(Math.max(1, soakStart + (next * 1000) / rate - Date.now()));
    }
    const soakSeconds = (Date.now() - soakStart) / 1000;
    const quorumEtsAfter = await quorumEtsMb(testCluster);
    const lastDrainMs = await drain('soak');
    sampling = false;
    await sampler;
    const soakLatency = latencies.slice(soakLatencyFrom);

    // Figures first, so that a failure shows all of them.
    const labels = [...resolved.keys()];
    report(
      `soak: ${next} messages in ${soakSeconds.toFixed(0)} s (${(next / soakSeconds).toFixed(1)} msg/s; ` +
        `send lag max ${maxLagMs} ms), all delivered ${lastDrainMs} ms after the last send; ` +
        `first copies p50 ${percentile(soakLatency, 50)} ms, p99 ${percentile(soakLatency, 99)} ms, ` +
        `max ${Math.max(0, ...soakLatency)} ms`,
    );
    const pad = (text: string | number, width: number) => String(text).padStart(width);
    report(
      `${pad('t s', 5)} ${pad('sent/s', 7)} ${pad('recv/s', 7)} ${pad('p50', 5)} ${pad('p99', 6)}` +
        labels.map((label) => pad(`${label} MB`, 12)).join(''),
    );
    for (const s of samples) {
      report(
        `${pad(s.atS, 5)} ${pad(s.sentPerS, 7)} ${pad(s.deliveredPerS, 7)} ${pad(s.p50Ms, 5)} ${pad(s.p99Ms, 6)}` +
          labels.map((label) => pad(s.rssMb[label]!.toFixed(1), 12)).join(''),
      );
    }
    const third = Math.floor(samples.length / 3);
    const memory = labels.map((label) => {
      const values = samples.map((s) => s.rssMb[label]!);
      const middle = mean(values.slice(third, 2 * third));
      const last = mean(values.slice(samples.length - third));
      const limit = middle * MEMORY_RULE.factor + MEMORY_RULE.slackMb;
      const tail = samples.slice(third);
      return {
        label,
        first: values[0]!,
        lastSample: values.at(-1)!,
        middle: Math.round(middle * 10) / 10,
        last: Math.round(last * 10) / 10,
        limit: Math.round(limit * 10) / 10,
        flat: last <= limit,
        slopeMbPerMin: Math.round(slope(tail.map((s) => [s.atS / 60, s.rssMb[label]!])) * 10) / 10,
      };
    });
    for (const m of memory) {
      report(
        `${m.label}: ${m.first} → ${m.lastSample} MB (first → last sample); mean of the second third ` +
          `${m.middle} MB, of the last third ${m.last} MB (limit ${m.limit} MB): ${m.flat ? 'flat' : 'GROWS'}; ` +
          `trend after warm-up ${m.slopeMbPerMin} MB/min`,
      );
    }
    // Ra (quorum queues) keeps every entry of its write-ahead log in memory tables until the log
    // rolls over (wal_max_size_bytes, 512 MB by default): a broker's RSS climbs by that much
    // and drops again at the rollover, by design. Shown so the brokers' trend can be read.
    report(
      `quorum_ets (Ra's WAL memory tables) before → after the soak: ${[1, 2, 3]
        .map((n, i) => `node ${n} ${quorumEtsBefore[i]} → ${quorumEtsAfter[i]} MB`)
        .join(', ')}`,
    );

    // Every acknowledged message stored once, in the order sent, and first seen in that order.
    let lost = 0;
    let storedTwice = 0;
    let outOfOrder = 0;
    let missing = 0;
    let duplicateCopies = 0;
    for (const lane of laneList) {
      const { rows } = await sql.query<{ text: string }>(
        'SELECT text FROM messages WHERE app_id = $1 AND sender = $2 ORDER BY seq',
        [app, lane.sender],
      );
      const indexes = rows.map((r) => Number(r.text.split(' ')[1]));
      const unique = new Set(indexes);
      for (let index = 0; index < lane.sentAt.length; index++) if (!unique.has(index)) lost++;
      storedTwice += indexes.length - unique.size;
      outOfOrder += indexes.filter((index, i) => i > 0 && index < indexes[i - 1]!).length;
      for (const r of receiversOf(lane)) {
        const s = seen.get(key(r, lane.sender));
        missing += lane.sentAt.length - (s?.indexes.size ?? 0);
        outOfOrder += s?.inversions ?? 0;
        duplicateCopies += s?.duplicates ?? 0;
      }
    }
    const { rows: gaps } = await sql.query<{ conversation_key: string; n: number; max: string }>(
      `SELECT conversation_key, count(*)::int AS n, max(seq) AS max FROM messages
        WHERE app_id = $1 GROUP BY conversation_key`,
      [app],
    );
    const gapped = gaps.filter((g) => Number(g.max) !== g.n).map((g) => g.conversation_key);
    const total = sentTotal();
    const acknowledged = laneList.reduce((n, lane) => n + lane.acked, 0);
    report(
      `outcome: ${total} sent, ${acknowledged} acknowledged, ${lost} lost, ${storedTwice} stored twice, ` +
        `${missing} copies missing, ${outOfOrder} out of order, ${duplicateCopies} duplicate copies, ` +
        `${gapped.length} conversations with seq gaps; test ran ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    const growth = (m: (typeof memory)[number]) => `${m.label} ${m.middle}→${m.last}`;
    await recordFaultResult('cluster-soak', {
      fault: `soak ${SOAK_SECONDS % 60 === 0 ? `${SOAK_SECONDS / 60} min` : `${SOAK_SECONDS} s`} at 30% of the direct peak (${rate} of ${peak.toFixed(0)} msg/s), 2 routers, 3-node cluster`,
      test: 'packages/server/test/cluster-soak.test.ts',
      messages: acknowledged,
      lost,
      storedTwice,
      outOfOrder,
      duplicateCopies,
      recovery:
        `memory ${memory.every((m) => m.flat) ? 'flat' : 'GROWS'} (MB, mean of 2nd → last third: ` +
        `${memory.map(growth).join(', ')}); p99 ${percentile(soakLatency, 99)} ms`,
    });

    expect(acknowledged, 'every message sent was acknowledged').toBe(total);
    expect({ lost, storedTwice, missing, outOfOrder, gapped }).toEqual({
      lost: 0,
      storedTwice: 0,
      missing: 0,
      outOfOrder: 0,
      gapped: [],
    });
    expect(samples.length, 'samples').toBeGreaterThanOrEqual(9);
    expect(memory.filter((m) => !m.flat)).toEqual([]);
  });
});
