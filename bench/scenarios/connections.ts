/**
 * `connections`: authenticated MQTT-over-WebSocket clients, each announcing its presence
 * (`{connected:true}`, last will `{disconnected:true}`), ramped up in two load-generator
 * processes until the target, an error streak or the deadline; then memory per connection of the
 * broker and of Mercurio (RSS before and after the ramp).
 */
import { execFileSync } from 'node:child_process';
import type { ConnResult } from '../loadgen.js';
import type { Scale } from '../scale.js';
import { progress, rabbitPid, rssBytes, sleep } from '../support.js';
import { BENCH_SERVICES_DIR, type Target } from '../target.js';

/** Each load generator keeps at most this many clients (one file descriptor each). */
const PER_LOADGEN = 10_000;

function fileLimit(): number {
  return Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
}

async function presenceRows(t: Target): Promise<number> {
  const { rows } = await t.eng.db.query<{ n: string }>(
    'SELECT count(*) AS n FROM presence_clients WHERE app_id = $1',
    [t.app],
  );
  return Number(rows[0]?.n ?? 0);
}

export async function connectionsScenario(t: Target, scale: Scale): Promise<void> {
  const limit = fileLimit();
  let target = scale.connections[t.engine];
  // Embedded, every client is a socket of this process: its file limit bounds the count.
  if (t.engine === 'embedded' && target > limit - 300) {
    progress(
      `embedded: target ${target} capped to ${limit - 300}: ulimit -n is ${limit} (hard) for this process`,
    );
    target = limit - 300;
  }
  // At least two, so the clients' CPU work is spread over both cores.
  const loadgens = await t.loadgen(Math.max(2, Math.ceil(target / PER_LOADGEN)));
  const share = Math.ceil(target / loadgens.length);
  const broker = t.engine === 'rabbitmq' ? rabbitPid(BENCH_SERVICES_DIR) : undefined;
  const rss = () => ({
    broker: broker ? rssBytes(broker) : 0,
    engine: rssBytes(process.pid),
    load: loadgens.reduce((sum, l) => sum + rssBytes(l.pid), 0),
  });
  await t.settle();
  const before = rss();
  const counts = loadgens.map(() => ({ connected: 0, errors: 0 }));
  const t0 = performance.now();
  const ticker = setInterval(() => {
    const connected = counts.reduce((s, c) => s + c.connected, 0);
    const errors = counts.reduce((s, c) => s + c.errors, 0);
    const secs = (performance.now() - t0) / 1000;
    progress(
      `${t.engine} connections: ${connected}/${target} (${errors} errors, ${Math.round(connected / secs)}/s)`,
    );
  }, 5000);
  const meter = t.cpu();
  let results: ConnResult[];
  try {
    results = await Promise.all(
      loadgens.map((loadgen, i) => {
        loadgen.onProgress = (p) => {
          counts[i] = p;
        };
        return loadgen.request<ConnResult>({
          type: 'connRamp',
          url: t.wsUrl,
          app: t.app,
          jwt: t.jwt,
          from: i * share,
          count: Math.min(share, target - i * share),
          concurrency: 50,
          deadlineMs: scale.connectionDeadlineMs,
          maxErrors: 50,
        });
      }),
    );
  } finally {
    clearInterval(ticker);
  }
  const cpu = meter();
  const connected = results.reduce((s, r) => s + r.connected, 0);
  const errors = results.reduce((s, r) => s + r.errors, 0);
  const seconds = Math.max(...results.map((r) => r.seconds));
  const stoppedBy = [...new Set(results.map((r) => r.stoppedBy))].join('+');
  const lastError = results.find((r) => r.lastError)?.lastError;
  progress(
    `${t.engine} connections: ${connected} of ${target} in ${seconds.toFixed(1)} s (${errors} errors, stopped by ${stoppedBy}${lastError ? `, last error: ${lastError}` : ''}; ${cpu})`,
  );
  // The router stores each client's presence: wait (bounded) until it has them all.
  const settle = performance.now();
  let stored = await presenceRows(t);
  while (stored < connected && performance.now() - settle < 30_000) {
    await sleep(500);
    stored = await presenceRows(t);
  }
  progress(
    `${t.engine} connections: ${stored} presences stored (${((performance.now() - settle) / 1000).toFixed(1)} s after the ramp)`,
  );
  await sleep(2000);
  const after = rss();
  const perConn = (key: 'broker' | 'engine' | 'load') =>
    (after[key] - before[key]) / 1024 / Math.max(1, connected);
  const params = `target=${target};errors=${errors};stopped_by=${stoppedBy};seconds=${seconds.toFixed(1)};presence_stored=${stored};fd_limit=${limit}`;
  t.record({
    scenario: 'connections',
    measure: 'connections',
    params,
    value: connected,
    unit: 'clients',
    relay: undefined,
    ratio: undefined,
    cpu,
  });
  t.record({
    scenario: 'connections',
    measure: 'connect_rate',
    params,
    value: connected / seconds,
    unit: 'clients/s',
    relay: undefined,
    ratio: undefined,
  });
  if (broker) {
    t.record({
      scenario: 'connections',
      measure: 'broker_kb_per_connection',
      params,
      value: perConn('broker'),
      unit: 'KB',
      relay: undefined,
      ratio: undefined,
    });
  }
  t.record({
    scenario: 'connections',
    measure: t.engine === 'embedded' ? 'engine_kb_per_connection' : 'mercurio_kb_per_connection',
    params,
    value: perConn('engine'),
    unit: 'KB',
    relay: undefined,
    ratio: undefined,
  });
  progress(
    `${t.engine} memory per connection: ${broker ? `broker (beam) ${perConn('broker').toFixed(1)} KB, ` : ''}` +
      `${t.engine === 'embedded' ? 'engine (Aedes + router + PGlite)' : 'Mercurio'} ${perConn('engine').toFixed(1)} KB, load generator ${perConn('load').toFixed(1)} KB`,
  );
  progress(`${t.engine} connections: disconnecting…`);
  await Promise.all(loadgens.map((l) => l.request({ type: 'closeAll' })));
  await t.closeLoadgens();
}
