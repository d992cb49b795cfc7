/**
 * `mixed` (issue 15): sends, edits, reactions and read receipts at a fixed rate (bench/mixed-load.ts),
 * each kind's latency next to plain direct messages at the same rate, measured just before.
 */
import type { MixedKind, MixedResult } from '../mixed-load.js';
import type { Scale } from '../scale.js';
import { progress } from '../support.js';
import type { Target } from '../target.js';
import { atRate } from './messages.js';

/** Operations per second: a user-paced load and three times that. */
const RATES = [100, 300];
const CONVERSATIONS = 32;

export async function mixedScenario(t: Target, scale: Scale): Promise<void> {
  const [loadgen] = await t.loadgen();
  for (const rate of RATES) {
    await t.settle();
    const direct = await atRate(t, 'direct', scale, rate);
    await t.settle();
    const meter = t.cpu();
    const r = await loadgen!.request<MixedResult>({
      type: 'mixed',
      url: t.mqttUrl,
      app: t.app,
      jwt: t.jwt,
      conversations: CONVERSATIONS,
      rate,
      durationMs: scale.rateMs,
    });
    const cpu = meter();
    const kinds = Object.keys(r.latency) as MixedKind[];
    progress(
      `${t.engine} mixed ${rate}/s: ${kinds
        .map((k) => `${k} ${r.seen[k]}/${r.sent[k]} p50 ${r.latency[k].p50} p99 ${r.latency[k].p99}`)
        .join(', ')} ms; plain direct p50 ${direct.latency.p50} p99 ${direct.latency.p99} ms (${cpu})`,
    );
    const lost = kinds.reduce((sum, k) => sum + r.sent[k] - r.seen[k], 0);
    if (lost > 0) progress(`  WARNING: ${lost} operations not seen by the other side within 15 s`);
    for (const kind of kinds) {
      for (const p of ['p50', 'p99'] as const) {
        t.record({
          scenario: 'mixed',
          measure: `${kind}_latency_${p}`,
          params: `rate=${rate};conversations=${CONVERSATIONS};sent=${r.sent[kind]};seen=${r.seen[kind]}`,
          value: r.latency[kind][p],
          unit: 'ms',
          relay: direct.latency[p],
          ratio: direct.latency[p] > 0 ? r.latency[kind][p] / direct.latency[p] : undefined,
          ...(p === 'p50' && kind === 'send' ? { cpu } : {}),
        });
      }
    }
  }
}
