import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export const REPO = fileURLToPath(new URL('../', import.meta.url));

export interface Services {
  amqpUrl: string;
  mqttUrl: string;
  wsUrl: string;
  pgUrl: string;
  jwtSecret: string;
}

/**
 * Starts (or reuses) a throwaway RabbitMQ + PostgreSQL with scripts/services.sh: the tests' own
 * by default, or another node and cluster when `env` names another state folder and ports.
 */
export function startServices(env: NodeJS.ProcessEnv = process.env): Services {
  const out = execFileSync('bash', [`${REPO}scripts/services.sh`, 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
  });
  const vars = Object.fromEntries(
    [...out.matchAll(/export (\w+)=['"]?([^'"\n]*)['"]?/g)].map((m) => [m[1]!, m[2]!]),
  );
  return {
    amqpUrl: vars.MERCURIO_TEST_AMQP_URL!,
    mqttUrl: vars.MERCURIO_TEST_MQTT_URL!,
    wsUrl: vars.MERCURIO_TEST_WS_URL!,
    pgUrl: vars.MERCURIO_TEST_PG_URL!,
    jwtSecret: vars.MERCURIO_TEST_JWT_SECRET!,
  };
}

export async function connect(
  url: string,
  token: string,
  clientId: string,
  extra: IClientOptions = {},
  { nagle = false }: { nagle?: boolean } = {},
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    username: 'JWT',
    password: token,
    clientId,
    reconnectPeriod: 0,
    keepalive: 60,
    connectTimeout: 30_000,
    ...extra,
  });
  // MQTT.js leaves Nagle's algorithm on (net.createConnection's default): a PUBACK written
  // while a PUBLISH is unacknowledged waits for the peer's ACK. Mercurio's clients are not ours
  // to tune, but the harness should not add that wait to what it measures (bench/README.md).
  const socket = client.stream as Partial<Socket>;
  if (!nagle) socket.setNoDelay?.(true);
  return client;
}

/** Latency percentiles in ms from raw samples. */
export function percentiles(samples: number[]): Record<'p50' | 'p90' | 'p99' | 'max', number> {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}

/**
 * Publishes `count` messages with QoS 1 keeping at most `window` unacknowledged, and resolves
 * when `done()` says every message arrived.
 */
export async function pump(
  publish: (i: number) => Promise<unknown>,
  count: number,
  window: number,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: window }, async () => {
    while (next < count) {
      const i = next++;
      await publish(i);
    }
  });
  await Promise.all(lanes);
}

// --- latency histograms (HDR, microsecond resolution, up to 2 minutes) -----------------------------

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records a latency given in milliseconds. */
export function recordMs(histogram: hdr.Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.min(120_000_000, Math.round(ms * 1000))));
}

/** p50/p90/p99/max in milliseconds. */
export function summarize(histogram: hdr.Histogram): LatencySummary {
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    count: histogram.totalCount,
    mean: ms(histogram.mean),
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    max: ms(histogram.maxValue),
  };
}

// --- processes: CPU time and memory from /proc ------------------------------------------------------

const TICKS_PER_SECOND = 100;

/** utime + stime of a process in seconds; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Resident set size in bytes (VmRSS); 0 when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The pid of the throwaway RabbitMQ node's Erlang VM (scripts/services.sh writes it in `dir`). */
export function rabbitPid(dir = `${REPO}.services`): number | undefined {
  try {
    const pid = Number(readFileSync(`${dir}/rabbitmq/rabbitmq.pid`, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The throwaway PostgreSQL cluster's processes: the postmaster and its children (backends). */
export function postgresPids(dir = `${REPO}.services`): number[] {
  let dataDir = `${dir}/postgres/data`;
  try {
    dataDir = `${readFileSync(`${dir}/pg-dir`, 'utf8').trim()}/data`;
  } catch {}
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]);
  } catch {
    return [];
  }
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** Which processes a measurement's CPU time is split between. */
export interface CpuRoles {
  engine: () => number[];
  broker: () => number[];
  db: () => number[];
  load: () => number[];
}

/**
 * CPU use of each role over a phase, as % of one core (200% = both cores of this machine):
 * "engine 95% broker 80% db 20% load 40%". A process that started within the phase counts all
 * its CPU time (PostgreSQL backends: the pool opens connections when the load starts); one that
 * ended within it is missed.
 */
export function cpuMeter(roles: CpuRoles): () => string {
  const names = Object.keys(roles) as (keyof CpuRoles)[];
  const snapshot = () =>
    new Map(names.map((name) => [name, new Map(roles[name]().map((pid) => [pid, cpuSeconds(pid)]))]));
  const before = snapshot();
  const t0 = performance.now();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const after = snapshot();
    const parts: string[] = [];
    for (const name of names) {
      const start = before.get(name)!;
      const end = after.get(name)!;
      if (end.size === 0 && start.size === 0) continue;
      let used = 0;
      for (const [pid, value] of end) used += value - (start.get(pid) ?? 0);
      parts.push(`${name} ${Math.round((100 * used) / seconds)}%`);
    }
    return parts.join(' ');
  };
}

// --- progress -------------------------------------------------------------------------------------

const started = performance.now();

/** Progress on stderr, with the time since the bench started. */
export function progress(message: string): void {
  const s = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${s}s] ${message}\n`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short=10', 'HEAD'], {
      cwd: REPO,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'packages'], {
      cwd: REPO,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}
