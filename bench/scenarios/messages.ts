/**
 * `relay`: raw MQTT QoS 1 publish → subscribe through the broker (the physical limit).
 * `direct`: Mercurio's direct messages end to end (stored, both copies delivered).
 * Both measured the same way: a closed-loop peak over many conversations in parallel, then
 * open-loop fixed rates with HDR latency percentiles.
 */
import type { Lane, LaneMode, LanesResult } from '../loadgen.js';
import type { Scale } from '../scale.js';
import { progress } from '../support.js';
import type { Target } from '../target.js';

type Kind = 'relay' | 'direct';

function lanes(t: Target, kind: Kind, count: number): Lane[] {
  const { app } = t;
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
): Promise<LanesResult & { cpu: string }> {
  const [loadgen] = await t.loadgen();
  await t.settle();
  const meter = t.cpu();
  const result = await loadgen!.request<LanesResult>({
    type: 'lanes',
    url: t.mqttUrl,
    app: t.app,
    jwt: t.jwt,
    lanes: lanes(t, kind, scale.lanes),
    mode,
    tag: `${kind}${mode.kind === 'rate' ? mode.rate : 'peak'}`,
  });
  const cpu = meter();
  const l = result.latency;
  const what = mode.kind === 'peak' ? 'peak' : `${mode.rate}/s`;
  progress(
    `${t.engine} ${kind.padEnd(6)} ${what.padStart(7)}: ${result.rate} msg/s, p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} max ${l.max} ms ` +
      `(${result.received}/${result.sent} received${kind === 'direct' ? `, ${result.ownCopies} own copies` : ''}; ${cpu})`,
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

async function atRate(t: Target, kind: Kind, scale: Scale, rate: number): Promise<LanesResult> {
  const r = await run(t, kind, scale, { kind: 'rate', rate, durationMs: scale.rateMs });
  const relay = kind === 'relay' ? r.latency : t.relay.rates.get(rate);
  if (kind === 'relay') t.relay.rates.set(rate, r.latency);
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
  return r;
}

export async function relayScenario(t: Target, scale: Scale): Promise<void> {
  const peak = await relayPeak(t, scale);
  for (const rate of scale.rates) {
    if (rate > 0.9 * peak) progress(`${t.engine} relay ${rate}/s skipped: above 90% of the peak (${peak})`);
    else await atRate(t, 'relay', scale, rate);
  }
}

export async function directScenario(t: Target, scale: Scale): Promise<void> {
  const relay = await relayPeak(t, scale);
  const mode = { kind: 'peak', durationMs: scale.peakMs, window: scale.window } as const;
  t.eng.metrics.routerStage.reset();
  const r = await run(t, 'direct', scale, mode);
  progress(`${t.engine} direct    peak: router ${await routerStages(t)}`);
  const params = `lanes=${scale.lanes};window=${scale.window};msgs=${r.received};own_copies=${r.ownCopies};lost=${r.lost}`;
  recordPeak(t, 'direct', params, r, relay);
  progress(`${t.engine} direct / relay = ${(r.rate / relay).toFixed(2)}`);
  for (const rate of scale.rates) {
    if (rate > 0.9 * r.rate) {
      progress(`${t.engine} direct ${rate}/s skipped: above 90% of the direct peak (${r.rate})`);
      continue;
    }
    if (!t.relay.rates.has(rate) && rate <= 0.9 * relay) await atRate(t, 'relay', scale, rate);
    await atRate(t, 'direct', scale, rate);
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
