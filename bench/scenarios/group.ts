/**
 * `group`: fan-out to groups of 10, 100 and 500 members, each member an MQTT client. Deliveries/s
 * at the peak (closed loop: a bounded number of messages not yet received by every member), and
 * the latency to the last member, unloaded (one message at a time) and at the peak.
 */
import type { GroupResult } from '../loadgen.js';
import type { Scale } from '../scale.js';
import { progress } from '../support.js';
import type { Target } from '../target.js';
import { relayPeak } from './messages.js';

export async function groupScenario(t: Target, scale: Scale): Promise<void> {
  const relay = await relayPeak(t, scale);
  const [loadgen] = await t.loadgen();
  const max = Math.max(...scale.groupSizes);
  const members = Array.from({ length: max }, (_, i) => `m${i}`);
  const now = Date.now();
  for (const size of scale.groupSizes) {
    await t.eng.store.createGroupIfAbsent({
      app: t.app,
      uid: `grp${size}`,
      name: `bench group of ${size}`,
      owner: 'm0',
      members: members.slice(0, size),
      attributes: null,
      volatile: false,
      createdOn: now,
      updatedOn: now,
    });
  }
  progress(`${t.engine} group: connecting ${max} member clients…`);
  await loadgen!.request({ type: 'groupConnect', url: t.mqttUrl, app: t.app, jwt: t.jwt, members });
  try {
    for (const size of scale.groupSizes) {
      await t.settle();
      const base = { type: 'groupRun', app: t.app, groupId: `grp${size}`, sender: 'm0', size } as const;
      const serial = await loadgen!.request<GroupResult>({
        ...base,
        mode: { kind: 'serial', count: scale.groupSerial },
      });
      // Enough messages in flight to keep ~2,000 deliveries pending.
      const window = Math.max(2, Math.ceil(2000 / size));
      await t.settle();
      const meter = t.cpu();
      const peak = await loadgen!.request<GroupResult>({
        ...base,
        mode: { kind: 'peak', durationMs: scale.groupPeakMs, window },
      });
      const cpu = meter();
      const s = serial.lastMember;
      const p = peak.lastMember;
      progress(
        `${t.engine} group ${String(size).padStart(3)}: ${peak.deliveriesPerSecond} deliveries/s (${(peak.deliveriesPerSecond / relay).toFixed(2)} × relay), ` +
          `last member unloaded p50 ${s.p50} p99 ${s.p99} ms, at peak p50 ${p.p50} p99 ${p.p99} ms (${cpu})`,
      );
      if (peak.missing + serial.missing > 0)
        progress(`  WARNING: ${peak.missing + serial.missing} deliveries missing`);
      const params = `size=${size};window=${window};msgs=${peak.messages};missing=${peak.missing}`;
      t.record({
        scenario: 'group',
        measure: 'deliveries_per_s',
        params,
        value: peak.deliveriesPerSecond,
        unit: 'deliveries/s',
        relay,
        ratio: peak.deliveriesPerSecond / relay,
        cpu,
      });
      t.record({
        scenario: 'group',
        measure: 'messages_per_s',
        params,
        value: peak.messages / peak.seconds,
        unit: 'msg/s',
        relay: undefined,
        ratio: undefined,
      });
      for (const q of ['p50', 'p99'] as const) {
        t.record({
          scenario: 'group',
          measure: `last_member_peak_${q}`,
          params,
          value: p[q],
          unit: 'ms',
          relay: undefined,
          ratio: undefined,
        });
        t.record({
          scenario: 'group',
          measure: `last_member_unloaded_${q}`,
          params: `size=${size};msgs=${serial.messages}`,
          value: s[q],
          unit: 'ms',
          relay: undefined,
          ratio: undefined,
        });
      }
    }
  } finally {
    await loadgen!.request({ type: 'closeAll' });
  }
}
