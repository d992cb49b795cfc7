/** Temporary probe (issue 14): where the relay's ~10 ms at 100/s comes from. */
import type { LanesResult, PingResult } from './loadgen.js';
import { progress } from './support.js';
import { type EngineName, startTarget, stopBenchServices } from './target.js';

const engine = (process.argv[2] ?? 'embedded') as EngineName;
const rounds = Number(process.argv[3] ?? 3);
const t = await startTarget(engine, { run: 'probe', commit: 'probe' });
const [lg] = await t.loadgen();
const lanes = (n: number) =>
  Array.from({ length: n }, (_, i) => {
    const topic = `apps/${t.app}/users/p${i}/relay`;
    return { sender: `p${i}`, publish: topic, receiver: { user: `p${i}`, topic } };
  });
const variants: [
  string,
  () => Promise<{ latency: LanesResult['latency']; sendLag?: LanesResult['sendLag'] }>,
][] = [
  [
    'ping (1 pair, every 10 ms)',
    () =>
      lg!.request<PingResult>({
        type: 'ping',
        url: t.mqttUrl,
        app: t.app,
        jwt: t.jwt,
        intervalMs: 10,
        durationMs: 4000,
        tag: 'ping',
      }),
  ],
  ...(
    [
      ['old harness: old schedule, Nagle', 32, true, true, false],
      ['new schedule, noDelay (new harness)', 32, false, false, false],
      ['new harness, timers only (no spin)', 32, false, false, true],
      ['new harness, 1 lane', 1, false, false, false],
    ] as const
  ).map(
    ([name, n, legacy, nagle, noSpin]) =>
      [
        name,
        () =>
          lg!.request<LanesResult>({
            type: 'lanes',
            url: t.mqttUrl,
            app: t.app,
            jwt: t.jwt,
            lanes: lanes(n),
            mode: { kind: 'rate', rate: 100, durationMs: 4000, legacySchedule: legacy, noSpin },
            tag: `probe${Math.random().toString(36).slice(2, 6)}`,
            nagle,
          }),
      ] as [string, () => Promise<LanesResult>],
  ),
];
const results = new Map<string, string[]>();
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of variants) {
    const meter = t.cpu();
    const x = await run();
    const line = `p50 ${x.latency.p50} p99 ${x.latency.p99} (lag p50 ${x.sendLag?.p50 ?? '-'} p99 ${x.sendLag?.p99 ?? '-'}) ${meter()}`;
    progress(`${engine} round ${r}: ${name}: ${line}`);
    results.set(name, [...(results.get(name) ?? []), line]);
  }
}
for (const [name, lines] of results) console.log(`${engine} | ${name} | ${lines.join(' | ')}`);
await t.stop();
if (engine === 'rabbitmq') stopBenchServices();
process.exit(0);
