/**
 * `relay`: raw MQTT QoS 1 publish → subscribe through the broker (the physical limit).
 * `rawrouter`: the inbox pattern with no store and no logic (bench/raw-router.ts).
 * `direct`: Mercurio's direct messages end to end (stored, both copies delivered).
 * All measured the same way: a closed-loop peak over many conversations in parallel, then
 * open-loop fixed rates with HDR latency percentiles. The relay at 100/s is checked against a
 * minimal ping measured in the same run (the harness floor, see `floorCheck`).
 */
import type { Lane, LaneMode, LanesResult, PingResult } from '../loadgen.js';
import { rawRouterLanes, startRawRouter } from '../raw-router.js';
import type { Scale } from '../scale.js';
import { progress } from '../support.js';
import type { Target } from '../target.js';

type Kind = 'relay' | 'direct' | 'rawrouter';

/** The rate whose relay latency is checked against the minimal ping, and by how much it may exceed it. */
export const FLOOR_RATE = 100;
export const FLOOR_LIMIT_MS = 0.5;

function lanes(t: Target, kind: Kind, count: number): Lane[] {
  const { app } = t;
  if (kind === 'rawrouter') return rawRouterLanes(app, count);
  return Array.from({ length: count }, (_, i): Lane => {
    const sender = `s${i}`;
    const recipient = `r${i}`;
    if (kind === 'relay') {
      // A second client of the same user subscribes to what the first publishes.
      const topic = `apps/${app}/users/${sender}/relay`;
      return { sender, publish: topic, receiver: { user: sender, topic } };
    }
    return {
      sender,
      publish: `apps/${app}/outgoing/users/${sender}/messages/${recipient}/outgoing`,
      receiver: { user: recipient, topic: `apps/${app}/users/${recipient}/messages/${sender}/clientadded` },
      ownCopy: `apps/${app}/users/${sender}/messages/${recipient}/clientadded`,
    };
  });
}

async function run(
  t: Target,
  kind: Kind,
  scale: Scale,
  mode: LaneMode,
  url = t.mqttUrl,
): Promise<LanesResult & { cpu: string }> {
  const [loadgen] = await t.loadgen();
  await t.settle();
  const meter = t.cpu();
  const result = await loadgen!.request<LanesResult>({
    type: 'lanes',
    url,
    app: t.app,
    jwt: t.jwt,
    lanes: lanes(t, kind, scale.lanes),
    mode,
    tag: `${kind}${mode.kind === 'rate' ? mode.rate : 'peak'}`,
  });
  const cpu = meter();
  const l = result.latency;
  const what = mode.kind === 'peak' ? 'peak' : `${mode.rate}/s`;
  const lag = result.sendLag ? `, sent late p50 ${result.sendLag.p50} p99 ${result.sendLag.p99} ms` : '';
  progress(
    `${t.engine} ${kind.padEnd(9)} ${what.padStart(7)}: ${result.rate} msg/s, p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} max ${l.max} ms ` +
      `(${result.received}/${result.sent} received${kind === 'relay' ? '' : `, ${result.ownCopies} own copies`}${lag}; ${cpu})`,
  );
  if (result.lost > 0) progress(`  WARNING: ${result.lost} copies did not arrive within 30 s`);
  return { ...result, cpu };
}

/** A peak's rows: throughput against the relay's peak, and its p50 / p99 latency. */
function recordPeak(
  t: Target,
  scenario: Kind,
  params: string,
  r: LanesResult & { cpu: string },
  relay: number,
): void {
  const ratio = r.rate / relay;
  t.record({
    scenario,
    measure: 'throughput',
    params,
    value: r.rate,
    unit: 'msg/s',
    relay,
    ratio,
    cpu: r.cpu,
  });
  for (const p of ['p50', 'p99'] as const) {
    const value = r.latency[p];
    t.record({
      scenario,
      measure: `peak_latency_${p}`,
      params,
      value,
      unit: 'ms',
      relay: undefined,
      ratio: undefined,
    });
  }
}

/** The relay's peak, measured once per target. */
export async function relayPeak(t: Target, scale: Scale): Promise<number> {
  if (t.relay.peak !== undefined) return t.relay.peak;
  const mode = { kind: 'peak', durationMs: scale.peakMs, window: scale.window } as const;
  const r = await run(t, 'relay', scale, mode);
  t.relay.peak = r.rate;
  recordPeak(t, 'relay', `lanes=${scale.lanes};window=${scale.window};msgs=${r.received}`, r, r.rate);
  return r.rate;
}

/** The raw router's peak, measured once per target (the router started for it alone). */
export async function rawRouterPeak(t: Target, scale: Scale): Promise<number> {
  if (t.rawRouter.peak !== undefined) return t.rawRouter.peak;
  const relay = await relayPeak(t, scale);
  const mode = { kind: 'peak', durationMs: scale.peakMs, window: scale.window } as const;
  const r = await withRawRouter(t, (url) => run(t, 'rawrouter', scale, mode, url));
  t.rawRouter.peak = r.rate;
  const params = `lanes=${scale.lanes};window=${scale.window};msgs=${r.received};own_copies=${r.ownCopies};lost=${r.lost}`;
  recordPeak(t, 'rawrouter', params, r, relay);
  progress(`${t.engine} raw router / relay = ${(r.rate / relay).toFixed(2)}`);
  return r.rate;
}

async function withRawRouter<T>(t: Target, measure: (url: string) => Promise<T>): Promise<T> {
  const raw = await startRawRouter(t);
  try {
    return await measure(raw.mqttUrl);
  } finally {
    await raw.stop();
  }
}

export async function atRate(t: Target, kind: Kind, scale: Scale, rate: number): Promise<LanesResult> {
  const floor = kind === 'relay' && rate === FLOOR_RATE;
  const pings = floor ? [await ping(t)] : [];
  const measure = (url?: string) =>
    run(t, kind, scale, { kind: 'rate', rate, durationMs: scale.rateMs }, url);
  const r = kind === 'rawrouter' ? await withRawRouter(t, measure) : await measure();
  if (floor) {
    pings.push(await ping(t));
    floorCheck(t, r, pings);
  }
  const relay = kind === 'relay' ? r.latency : t.relay.rates.get(rate);
  if (kind === 'relay') t.relay.rates.set(rate, r.latency);
  if (kind === 'rawrouter') t.rawRouter.rates.set(rate, r.latency);
  const params = `rate=${rate};lanes=${scale.lanes};msgs=${r.received}`;
  t.record({
    scenario: kind,
    measure: 'achieved_rate',
    params,
    value: r.rate,
    unit: 'msg/s',
    relay: undefined,
    ratio: undefined,
    cpu: r.cpu,
  });
  if (r.sendLag) {
    t.record({
      scenario: kind,
      measure: 'send_lag_p99',
      params,
      value: r.sendLag.p99,
      unit: 'ms',
      relay: undefined,
      ratio: undefined,
    });
  }
  for (const p of ['p50', 'p90', 'p99', 'max'] as const) {
    const ref = relay?.[p];
    t.record({
      scenario: kind,
      measure: `latency_${p}`,
      params,
      value: r.latency[p],
      unit: 'ms',
      relay: ref,
      ratio: ref ? r.latency[p] / ref : undefined,
    });
  }
  const raw = kind === 'direct' ? t.rawRouter.rates.get(rate) : undefined;
  if (raw) {
    // Mercurio against the raw router at the same rate: the reference column holds the raw router's.
    for (const p of ['p50', 'p99'] as const) {
      t.record({
        scenario: kind,
        measure: `latency_${p}_vs_raw_router`,
        params,
        value: r.latency[p],
        unit: 'ms',
        relay: raw[p],
        ratio: r.latency[p] / raw[p],
      });
    }
    progress(
      `${t.engine} direct ${rate}/s − raw router: p50 +${(r.latency.p50 - raw.p50).toFixed(2)} ms, p99 +${(r.latency.p99 - raw.p99).toFixed(2)} ms`,
    );
  }
  return r;
}

/** The minimal ping through the target's broker (loadgen.ts `runPing`). */
async function ping(t: Target): Promise<PingResult> {
  const [loadgen] = await t.loadgen();
  await t.settle();
  const meter = t.cpu();
  const r = await loadgen!.request<PingResult>({
    type: 'ping',
    url: t.mqttUrl,
    app: t.app,
    jwt: t.jwt,
    intervalMs: 1000 / FLOOR_RATE,
    durationMs: 3000,
    tag: `ping${t.relay.rates.size}${Date.now() % 100_000}`,
  });
  const l = r.latency;
  progress(
    `${t.engine} minimal ping (1 publisher, 1 subscriber, every ${1000 / FLOOR_RATE} ms): p50 ${l.p50} p99 ${l.p99} max ${l.max} ms (${r.received}/${r.sent}; ${meter()})`,
  );
  return r;
}

/**
 * The harness's own floor: the relay at 100/s (32 lanes, open loop, latency from the due time)
 * must come within FLOOR_LIMIT_MS (p50) of a minimal ping measured just before and just after it
 * (their mean). Otherwise the harness, not the system, sets the low-rate latencies: the run says
 * so, and the report marks its latency figures.
 */
function floorCheck(t: Target, relay: LanesResult, pings: PingResult[]): void {
  const mean = (p: 'p50' | 'p99') => pings.reduce((sum, x) => sum + x.latency[p], 0) / pings.length;
  const pingP50 = mean('p50');
  const excess = relay.latency.p50 - pingP50;
  const valid = excess <= FLOOR_LIMIT_MS;
  t.floor = { pingP50, relayP50: relay.latency.p50, valid };
  const pingParams = `interval_ms=${1000 / FLOOR_RATE};runs=${pings.length};msgs=${pings.reduce((n, x) => n + x.received, 0)}`;
  for (const p of ['p50', 'p99'] as const) {
    t.record({
      scenario: 'relay',
      measure: `ping_${p}`,
      params: pingParams,
      value: mean(p),
      unit: 'ms',
      relay: undefined,
      ratio: undefined,
    });
  }
  t.record({
    scenario: 'relay',
    measure: 'floor_excess_p50',
    params: `rate=${FLOOR_RATE};limit_ms=${FLOOR_LIMIT_MS};valid=${valid ? 'yes' : 'no'}`,
    value: excess,
    unit: 'ms',
    relay: pingP50,
    ratio: relay.latency.p50 / pingP50,
  });
  if (valid) {
    progress(
      `${t.engine} harness floor: relay at ${FLOOR_RATE}/s p50 ${relay.latency.p50} ms, minimal ping ${pingP50.toFixed(3)} ms (+${excess.toFixed(2)} ≤ ${FLOOR_LIMIT_MS} ms): latency figures valid`,
    );
  } else {
    progress(
      `${t.engine} HARNESS FLOOR CHECK FAILED: relay at ${FLOOR_RATE}/s p50 ${relay.latency.p50} ms vs minimal ping ${pingP50.toFixed(3)} ms ` +
        `(+${excess.toFixed(2)} > ${FLOOR_LIMIT_MS} ms): this run's latency figures are NOT VALID (the harness or a busy machine adds to them)`,
    );
  }
}

export async function relayScenario(t: Target, scale: Scale): Promise<void> {
  const peak = await relayPeak(t, scale);
  for (const rate of scale.rates) {
    if (rate > 0.9 * peak) progress(`${t.engine} relay ${rate}/s skipped: above 90% of the peak (${peak})`);
    else await atRate(t, 'relay', scale, rate);
  }
}

export async function rawRouterScenario(t: Target, scale: Scale): Promise<void> {
  const peak = await rawRouterPeak(t, scale);
  for (const rate of scale.rates) {
    if (rate > 0.9 * peak)
      progress(`${t.engine} raw router ${rate}/s skipped: above 90% of its peak (${peak})`);
    else await atRate(t, 'rawrouter', scale, rate);
  }
}

export async function directScenario(t: Target, scale: Scale): Promise<void> {
  const relay = await relayPeak(t, scale);
  const rawPeak = await rawRouterPeak(t, scale);
  const mode = { kind: 'peak', durationMs: scale.peakMs, window: scale.window } as const;
  t.eng.metrics.routerStage.reset();
  const r = await run(t, 'direct', scale, mode);
  progress(`${t.engine} direct    peak: router ${await routerStages(t)}`);
  const params = `lanes=${scale.lanes};window=${scale.window};msgs=${r.received};own_copies=${r.ownCopies};lost=${r.lost}`;
  recordPeak(t, 'direct', params, r, relay);
  t.record({
    scenario: 'direct',
    measure: 'throughput_vs_raw_router',
    params,
    value: r.rate,
    unit: 'msg/s',
    relay: rawPeak,
    ratio: r.rate / rawPeak,
  });
  progress(
    `${t.engine} direct / relay = ${(r.rate / relay).toFixed(2)}, direct / raw router = ${(r.rate / rawPeak).toFixed(2)}`,
  );
  for (const rate of scale.rates) {
    if (rate > 0.9 * r.rate) {
      progress(`${t.engine} direct ${rate}/s skipped: above 90% of the direct peak (${r.rate})`);
      continue;
    }
    if (!t.relay.rates.has(rate) && rate <= 0.9 * relay) await atRate(t, 'relay', scale, rate);
    if (!t.rawRouter.rates.has(rate) && rate <= 0.9 * rawPeak) await atRate(t, 'rawrouter', scale, rate);
    t.eng.metrics.routerStage.reset();
    await atRate(t, 'direct', scale, rate);
    progress(`${t.engine} direct ${rate}/s: router ${await routerStages(t)}`);
  }
}

/** Mean time per stage of the router for new messages (`mercurio_router_stage_seconds`). */
async function routerStages(t: Target): Promise<string> {
  const { values } = await t.eng.metrics.routerStage.get();
  const mean = (stage: string): string => {
    const at = (suffix: string) =>
      values.find(
        (v) =>
          v.metricName === `mercurio_router_stage_seconds_${suffix}` &&
          v.labels.kind === 'outgoing' &&
          v.labels.stage === stage,
      )?.value ?? 0;
    const count = at('count');
    return count === 0 ? '-' : `${((at('sum') / count) * 1000).toFixed(1)} ms`;
  };
  return ['queued', 'process', 'confirm'].map((stage) => `${stage} ${mean(stage)}`).join(', ');
}
