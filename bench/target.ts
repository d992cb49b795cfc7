/**
 * What a scenario runs against: one engine (RabbitMQ + PostgreSQL, or embedded Aedes + PGlite)
 * started in this process, the load generator children, and where results go.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '../packages/server/src/config.js';
import { type Engine, startEngine } from '../packages/server/src/engine.js';
import { createLogger } from '../packages/server/src/logger.js';
import type { Jwt } from './load-clients.js';
import type { Request } from './loadgen.js';
import { appendRow, type Row } from './results.js';
import {
  cpuMeter,
  type LatencySummary,
  postgresPids,
  progress,
  REPO,
  rabbitPid,
  type Services,
  sleep,
  startServices,
} from './support.js';

export type EngineName = 'rabbitmq' | 'embedded';

/** The bench's own RabbitMQ node and PostgreSQL cluster: apart from the tests' (other ports). */
export const BENCH_SERVICES_DIR = `${REPO}.services/bench`;
const BENCH_SERVICES_ENV = {
  MERCURIO_SERVICES_DIR: BENCH_SERVICES_DIR,
  MERCURIO_SVC_NODENAME: 'mercurio-bench',
  MERCURIO_SVC_AMQP_PORT: '36672',
  MERCURIO_SVC_MQTT_PORT: '32883',
  MERCURIO_SVC_WS_PORT: '36675',
  MERCURIO_SVC_DIST_PORT: '36673',
  MERCURIO_SVC_EPMD_PORT: '34370',
  MERCURIO_SVC_PG_PORT: '36432',
  MERCURIO_SVC_CTL_DIST_PORT_MIN: '36690',
};

export function benchServices(): Services {
  return startServices({ ...process.env, ...BENCH_SERVICES_ENV });
}

export function stopBenchServices(): void {
  execFileSync('bash', [`${REPO}scripts/services.sh`, 'stop'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...BENCH_SERVICES_ENV },
  });
}

/** A forked load generator (bench/loadgen.ts): requests in, replies and progress out. */
export class LoadGen {
  readonly child: ChildProcess;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  onProgress: (progress: { connected: number; errors: number; lastError?: string }) => void = () => {};

  constructor() {
    this.child = fork(new URL('./loadgen.ts', import.meta.url), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on(
      'message',
      (message: { id?: number; ok?: boolean; result?: unknown; error?: string; type?: string }) => {
        if (message.type === 'progress') {
          this.onProgress(message as never);
          return;
        }
        const waiter = this.waiting.get(message.id!);
        this.waiting.delete(message.id!);
        if (message.ok) waiter?.resolve(message.result);
        else waiter?.reject(new Error(`load generator: ${message.error}`));
      },
    );
    this.child.on('exit', (code) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`load generator exited (${code})`));
      this.waiting.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  request<T>(request: Request): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, request });
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface Target {
  engine: EngineName;
  /** A fresh app id per target: runs never see each other's data. */
  app: string;
  config: Config;
  eng: Engine;
  jwt: Jwt;
  services: Services | undefined;
  mqttUrl: string;
  wsUrl: string;
  /** The run's load generators (started on demand). */
  loadgens: LoadGen[];
  /** The raw relay's peak msgs/s and latency at fixed rates, once measured in this run. */
  relay: { peak?: number; rates: Map<number, LatencySummary> };
  /** The raw router's (bench/raw-router.ts), the same. */
  rawRouter: { peak?: number; rates: Map<number, LatencySummary> };
  /** The harness floor self-check (relay at 100/s vs a minimal ping), once measured in this run. */
  floor?: { pingP50: number; relayP50: number; valid: boolean } | undefined;
  /** Starts a CPU meter over the engine, broker, database and load generator processes. */
  cpu(): () => string;
  /**
   * Waits (at most 30 s) until the engine, broker and database are idle — a backlog or an
   * autovacuum would otherwise eat into the next measurement.
   */
  settle(): Promise<void>;
  /** Appends a CSV row for this engine. */
  record(row: Omit<Row, 'run' | 'commit' | 'engine' | 'cpu'> & { cpu?: string }): void;
  /** At least `count` load generators. */
  loadgen(count?: number): Promise<LoadGen[]>;
  /** Ends the load generators (they are started again on demand). */
  closeLoadgens(): Promise<void>;
  stop(): Promise<void>;
}

export interface RunInfo {
  run: string;
  commit: string;
}

/**
 * Starts one engine with its router and HTTP API. Any MERCURIO_* variable in the environment
 * (e.g. MERCURIO_PREFETCH) is passed on, so a tuning can be benchmarked without code changes.
 */
export async function startTarget(engine: EngineName, info: RunInfo): Promise<Target> {
  const app = `b${randomUUID().slice(0, 8)}`;
  const passed = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('MERCURIO_')));
  let services: Services | undefined;
  let dataDir: string | undefined;
  if (engine === 'rabbitmq') {
    progress('starting the bench RabbitMQ + PostgreSQL (scripts/services.sh, state in .services/bench)…');
    services = benchServices();
  } else {
    dataDir = mkdtempSync(join(tmpdir(), 'mercurio-bench-'));
  }
  const secret = services?.jwtSecret ?? randomUUID() + randomUUID();
  const config = loadConfig({
    MERCURIO_LOG_LEVEL: 'warn',
    MERCURIO_QUEUE_PREFIX: 'mercurio-bench',
    // Load generators flood by design: the limiter stays in the path (its cost is measured) but is never met.
    MERCURIO_RATE_MESSAGES: '1000000',
    MERCURIO_RATE_SIGNALS: '1000000',
    ...passed,
    MERCURIO_JWT_SECRET: secret,
    MERCURIO_HTTP_PORT: '0',
    ...(services
      ? { MERCURIO_AMQP_URL: services.amqpUrl, MERCURIO_DATABASE_URL: services.pgUrl }
      : { MERCURIO_DATA_DIR: dataDir, MERCURIO_MQTT_PORT: '0' }),
  });
  progress(`starting the ${engine} engine (app ${app})…`);
  const eng = await startEngine(config, createLogger(config.logLevel), { router: true, http: true });
  const mqttUrl = eng.mqtt?.tcpUrl ?? services!.mqttUrl;
  const wsUrl = eng.mqtt?.wsUrl ?? services!.wsUrl;
  const loadgens: LoadGen[] = [];
  const broker = services ? rabbitPid(BENCH_SERVICES_DIR) : undefined;
  const roles = {
    engine: () => [process.pid],
    broker: () => (broker ? [broker] : []),
    db: () => (services ? postgresPids(BENCH_SERVICES_DIR) : []),
    load: () => loadgens.map((l) => l.pid),
  };
  return {
    engine,
    app,
    config,
    eng,
    jwt: { secret, resourceServerId: config.jwt.resourceServerId },
    services,
    mqttUrl,
    wsUrl,
    loadgens,
    relay: { rates: new Map() },
    rawRouter: { rates: new Map() },
    cpu: () => cpuMeter(roles),
    async settle() {
      const t0 = performance.now();
      const busy = { engine: roles.engine, broker: roles.broker, db: roles.db, load: () => [] };
      for (;;) {
        const meter = cpuMeter(busy);
        await sleep(1000);
        const use = meter();
        const total = [...use.matchAll(/(\d+)%/g)].reduce((sum, m) => sum + Number(m[1]), 0);
        if (total < 15) return;
        if (performance.now() - t0 > 30_000) {
          progress(`${engine}: still busy after 30 s (${use}); measuring anyway`);
          return;
        }
        progress(`${engine}: waiting for the processes to settle (${use})`);
      }
    },
    record(row) {
      appendRow({ cpu: '', ...row, run: info.run, commit: info.commit, engine });
    },
    async loadgen(count = 1) {
      while (loadgens.length < count) loadgens.push(new LoadGen());
      return loadgens.slice(0, count);
    },
    async closeLoadgens() {
      await Promise.all(loadgens.splice(0).map((l) => l.close()));
    },
    async stop() {
      await Promise.all(loadgens.splice(0).map((l) => l.close()));
      await eng.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
