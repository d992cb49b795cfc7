/**
 * `npm run bench -- report`: bench/results/results.csv → bench/results/report.md (the DESIGN.md
 * goals with the measured ratios, then every measurement) and bench/results/report.png
 * (latency vs throughput, ratio to the raw relay). For each engine and scenario, the rows of the
 * latest run that measured it.
 */
import { writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { RESULTS_DIR, type Row, readRows } from './results.js';
import { progress } from './support.js';

function latest(rows: Row[]): Row[] {
  const lastRun = new Map<string, string>();
  for (const row of rows) {
    const key = `${row.engine}/${row.scenario}`;
    if ((lastRun.get(key) ?? '') <= row.run) lastRun.set(key, row.run);
  }
  return rows.filter((row) => lastRun.get(`${row.engine}/${row.scenario}`) === row.run);
}

const param = (row: Row, name: string) => new RegExp(`(?:^|;)${name}=([^;]*)`).exec(row.params)?.[1];

const fmt = (value: number | undefined, digits = 2) =>
  value === undefined || Number.isNaN(value)
    ? '—'
    : Math.abs(value) >= 100
      ? String(Math.round(value))
      : String(Number(value.toFixed(digits)));

function goals(rows: Row[]): string[] {
  const find = (engine: string, scenario: string, measure: string, params?: Record<string, string>) =>
    rows.find(
      (r) =>
        r.engine === engine &&
        r.scenario === scenario &&
        r.measure === measure &&
        Object.entries(params ?? {}).every(([k, v]) => param(r, k) === v),
    );
  const verdict = (ok: boolean | undefined) =>
    ok === undefined ? 'not measured' : ok ? '**met**' : '**not met**';
  const lines = [
    '| Measure | Goal | RabbitMQ + PostgreSQL | Embedded (Aedes + PGlite) |',
    '|---|---|---|---|',
  ];
  const ratioCell = (r: Row | undefined, goal: number) =>
    r
      ? `${fmt(r.value)} ÷ ${fmt(r.relay)} = **${fmt(r.ratio)}** (${verdict((r.ratio ?? 0) >= goal)})`
      : 'not measured';
  const direct = (e: string) => find(e, 'direct', 'throughput');
  lines.push(
    `| Direct msgs/s end to end ÷ raw relay msgs/s (same run) | ≥ 0.5 (RabbitMQ), ≥ 0.3 (embedded) | ${ratioCell(direct('rabbitmq'), 0.5)} | ${ratioCell(direct('embedded'), 0.3)} |`,
  );
  const vsRaw = (e: string) => find(e, 'direct', 'throughput_vs_raw_router');
  lines.push(
    `| Direct msgs/s ÷ raw router msgs/s (the inbox pattern with no store and no logic, same run) | ≥ 0.8 (RabbitMQ, issue 14) | ${ratioCell(vsRaw('rabbitmq'), 0.8)} | ${vsRaw('embedded') ? `${fmt(vsRaw('embedded')!.value)} ÷ ${fmt(vsRaw('embedded')!.relay)} = **${fmt(vsRaw('embedded')!.ratio)}**` : 'not measured'} |`,
  );
  const latency = (e: string) => {
    const p50 = find(e, 'direct', 'latency_p50', { rate: '1000' });
    const p99 = find(e, 'direct', 'latency_p99', { rate: '1000' });
    if (!p50 || !p99) return 'not measured (1,000 msg/s above 90% of the peak?)';
    return `p50 ${fmt(p50.value)} ms, p99 ${fmt(p99.value)} ms (relay ${fmt(p50.relay)} / ${fmt(p99.relay)}) (${verdict(p50.value <= 3 && p99.value <= 20)})${invalidNote(rows, e)}`;
  };
  lines.push(
    `| Latency publish → recipient at 1,000 msg/s | p50 ≤ 3 ms, p99 ≤ 20 ms | ${latency('rabbitmq')} | ${latency('embedded')} |`,
  );
  const lowRate = (e: string) => {
    const p50 = find(e, 'direct', 'latency_p50_vs_raw_router', { rate: '100' });
    const p99 = find(e, 'direct', 'latency_p99_vs_raw_router', { rate: '100' });
    if (!p50 || !p99) return 'not measured';
    const dp50 = p50.value - (p50.relay ?? 0);
    const dp99 = p99.value - (p99.relay ?? 0);
    return `p50 ${fmt(p50.value)} ms, p99 ${fmt(p99.value)} ms (raw router ${fmt(p50.relay)} / ${fmt(p99.relay)}: +${fmt(dp50)} / +${fmt(dp99)}) (${verdict(dp50 <= 1 && dp99 <= 3)})${invalidNote(rows, e)}`;
  };
  lines.push(
    `| Latency at 100 msg/s, Mercurio − raw router | p50 ≤ +1 ms, p99 ≤ +3 ms (issue 14) | ${lowRate('rabbitmq')} | ${lowRate('embedded')} |`,
  );
  const group = (e: string) => find(e, 'group', 'deliveries_per_s', { size: '500' });
  lines.push(
    `| Group fan-out deliveries/s (500 members) ÷ raw relay msgs/s | ≥ 0.5 | ${ratioCell(group('rabbitmq'), 0.5)} | ${ratioCell(group('embedded'), 0.5)} |`,
  );
  const conns = (e: string, goal: number) => {
    const c = find(e, 'connections', 'connections');
    if (!c) return 'not measured';
    const broker = find(e, 'connections', 'broker_kb_per_connection');
    const mercurio = find(
      e,
      'connections',
      e === 'embedded' ? 'engine_kb_per_connection' : 'mercurio_kb_per_connection',
    );
    const memory = [
      broker ? `broker ${fmt(broker.value, 1)} KB` : undefined,
      mercurio
        ? `${e === 'embedded' ? 'engine (broker + router)' : 'Mercurio'} ${fmt(mercurio.value, 1)} KB`
        : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    return `**${c.value}** of ${param(c, 'target')} in ${param(c, 'seconds')} s, stopped by ${param(c, 'stopped_by')} (${verdict(c.value >= goal)}); per connection: ${memory}`;
  };
  lines.push(
    `| Authenticated WebSocket clients with presence | 10k (RabbitMQ), 20k (embedded); memory per connection | ${conns('rabbitmq', 10_000)} | ${conns('embedded', 20_000)} |`,
  );
  const history = (e: string) => {
    const page = find(e, 'history', 'history_page_p99');
    const search = find(e, 'history', 'search_rare_p99');
    const common = find(e, 'history', 'search_common_p99');
    if (!page || !search) return 'not measured';
    return (
      `${param(page, 'messages')} messages: page p99 **${fmt(page.value)} ms**, search p99 **${fmt(search.value)} ms** ` +
      `(0.1% of messages match; 10%: ${fmt(common?.value)} ms) (${verdict(page.value <= 10 && search.value <= 50)})`
    );
  };
  lines.push(
    `| History page (50 newest) and full-text search over 1M messages | p99 ≤ 10 ms and ≤ 50 ms | ${history('rabbitmq')} | ${history('embedded')} |`,
  );
  lines.push(
    '| Router SIGKILL / RabbitMQ restart / DB down during 100k messages | 0 lost, 0 duplicates | not a bench scenario (the crash tests cover it) | — |',
  );
  return lines;
}

/** The harness floor self-check of an engine's latest relay run (scenarios/messages.ts `floorCheck`). */
function floorRow(rows: Row[], engine: string): Row | undefined {
  return rows.find((r) => r.engine === engine && r.scenario === 'relay' && r.measure === 'floor_excess_p50');
}

function invalidNote(rows: Row[], engine: string): string {
  const floor = floorRow(rows, engine);
  return floor && param(floor, 'valid') !== 'yes' ? ' — **not valid: harness floor check failed**' : '';
}

function floorLines(rows: Row[]): string[] {
  return (['rabbitmq', 'embedded'] as const).map((engine) => {
    const floor = floorRow(rows, engine);
    if (!floor) return `- ${engine}: not checked (no relay at 100 msg/s in the latest relay run)`;
    const relayP50 = (floor.relay ?? 0) + floor.value;
    const ok = param(floor, 'valid') === 'yes';
    return (
      `- ${engine}: relay at 100 msg/s p50 ${fmt(relayP50)} ms vs minimal ping ${fmt(floor.relay)} ms: ` +
      `+${fmt(floor.value)} ms (limit +${param(floor, 'limit_ms')} ms) — ` +
      (ok
        ? 'latency figures valid'
        : "**latency figures NOT VALID**: the harness or the machine's load adds more than the limit to every latency of this run")
    );
  });
}

function table(rows: Row[]): string[] {
  const lines = [
    '| Engine | Scenario | Measure | Parameters | Value | Relay | Ratio | CPU (% of one core) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.engine} | ${r.scenario} | ${r.measure} | ${r.params.replaceAll(';', ' ')} | ${fmt(r.value)} ${r.unit} | ${fmt(r.relay)} | ${fmt(r.ratio)} | ${r.cpu} |`,
    );
  }
  return lines;
}

function chartSpec(rows: Row[]): TopLevelSpec {
  // Latency vs throughput: each fixed-rate run and the closed-loop peak, for relay and direct.
  const points: { series: string; percentile: string; throughput: number; latency: number }[] = [];
  for (const r of rows) {
    if (r.scenario !== 'relay' && r.scenario !== 'direct' && r.scenario !== 'rawrouter') continue;
    const name = { relay: 'raw relay', rawrouter: 'raw router', direct: 'Mercurio' }[r.scenario];
    const series = `${r.engine} ${name}`;
    const m = /^(?:peak_)?latency_(p50|p99)$/.exec(r.measure);
    if (!m) continue;
    const throughput = r.measure.startsWith('peak_')
      ? rows.find(
          (x) =>
            x.run === r.run &&
            x.engine === r.engine &&
            x.scenario === r.scenario &&
            x.measure === 'throughput',
        )?.value
      : rows.find(
          (x) =>
            x.run === r.run &&
            x.engine === r.engine &&
            x.scenario === r.scenario &&
            x.measure === 'achieved_rate' &&
            param(x, 'rate') === param(r, 'rate'),
        )?.value;
    if (throughput) points.push({ series, percentile: m[1]!, throughput, latency: Math.max(0.01, r.value) });
  }
  const ratioName = (r: Row): string | undefined => {
    if (r.ratio === undefined) return undefined;
    if (r.scenario === 'rawrouter' && r.measure === 'throughput') return 'raw router ÷ relay';
    if (r.scenario === 'direct' && r.measure === 'throughput') return 'direct ÷ relay';
    if (r.scenario === 'direct' && r.measure === 'throughput_vs_raw_router') return 'direct ÷ raw router';
    if (r.measure === 'deliveries_per_s') return `group ${param(r, 'size')} ÷ relay`;
    return undefined;
  };
  const order = [
    'raw router ÷ relay',
    'direct ÷ relay',
    'direct ÷ raw router',
    'group 10 ÷ relay',
    'group 100 ÷ relay',
    'group 500 ÷ relay',
  ];
  const ratios = rows.flatMap((r) => {
    const measure = ratioName(r);
    return measure ? [{ engine: r.engine, measure, ratio: r.ratio!, label: fmt(r.ratio) }] : [];
  });
  const font = 'DejaVu Sans';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: {
      font,
      view: { stroke: '#ccc' },
      axis: { labelFontSize: 12, titleFontSize: 13 },
      legend: { labelFontSize: 12, titleFontSize: 12 },
    },
    title: {
      text: 'Mercurio vs the raw broker relay and the raw router (same run, 2 cores, loopback)',
      fontSize: 16,
    },
    background: 'white',
    padding: 12,
    hconcat: [
      {
        title: 'Latency vs throughput (fixed rates and peak)',
        width: 460,
        height: 340,
        data: { values: points },
        mark: { type: 'line', point: { size: 60 } },
        encoding: {
          x: {
            field: 'throughput',
            type: 'quantitative',
            scale: { type: 'log' },
            title: 'delivered msgs/s (log)',
          },
          y: {
            field: 'latency',
            type: 'quantitative',
            scale: { type: 'log' },
            title: 'publish → receive latency, ms (log)',
          },
          color: { field: 'series', type: 'nominal', title: 'path', legend: { labelLimit: 400 } },
          strokeDash: { field: 'percentile', type: 'nominal', title: 'percentile' },
          shape: { field: 'percentile', type: 'nominal', title: 'percentile' },
          order: { field: 'throughput', type: 'quantitative' },
        },
      },
      {
        title: 'Throughput ÷ the references (dashed: 0.5)',
        width: 360,
        height: 340,
        layer: [
          {
            data: { values: ratios },
            mark: 'bar',
            encoding: {
              x: {
                field: 'measure',
                type: 'nominal',
                title: null,
                sort: order,
                axis: { labelAngle: -20 },
              },
              xOffset: { field: 'engine', type: 'nominal' },
              y: { field: 'ratio', type: 'quantitative', title: 'ratio to the reference' },
              color: {
                field: 'engine',
                type: 'nominal',
                scale: { range: ['#e45756', '#54a24b'] },
                title: 'engine',
              },
            },
          },
          {
            data: { values: ratios },
            mark: { type: 'text', dy: -8, fontSize: 11 },
            encoding: {
              x: {
                field: 'measure',
                type: 'nominal',
                sort: order,
              },
              xOffset: { field: 'engine', type: 'nominal' },
              y: { field: 'ratio', type: 'quantitative' },
              text: { field: 'label', type: 'nominal' },
            },
          },
          {
            data: { values: [{ goal: 0.5 }] },
            mark: { type: 'rule', strokeDash: [6, 4], color: '#333' },
            encoding: { y: { field: 'goal', type: 'quantitative' } },
          },
        ],
        resolve: { scale: { color: 'independent' } },
      },
    ],
    resolve: { scale: { color: 'independent', strokeDash: 'independent', shape: 'independent' } },
  } as TopLevelSpec;
}

export async function writeReport(): Promise<void> {
  const all = readRows();
  const rows = latest(all);
  if (rows.length === 0) {
    progress('no results yet: run a scenario first (npm run bench -- all)');
    return;
  }
  const runs = [...new Set(rows.map((r) => `${r.run} (${r.commit})`))].sort();
  const md = [
    '# Mercurio benchmark report',
    '',
    `Generated from \`bench/results/results.csv\` by \`npm run bench -- report\`: for each engine and scenario, the latest run.`,
    `Runs: ${runs.join(', ')}. One 2-core machine, everything on loopback; the raw relay is measured in the same run.`,
    '',
    '## Harness floor (the relay at 100 msg/s against a minimal ping, same run)',
    '',
    ...floorLines(rows),
    '',
    '## Goals (docs: ../../shared/DESIGN.md, "Goals the engine is measured against")',
    '',
    ...goals(rows),
    '',
    '![latency vs throughput and ratios to the raw relay](report.png)',
    '',
    '## Every measurement',
    '',
    "Latency ratios compare with the raw relay at the same rate (`…_vs_raw_router`: the Relay column holds the raw router's figure). CPU: % of one core over the measurement (engine = the bench",
    'process running Mercurio — embedded, the broker too; broker = RabbitMQ; db = PostgreSQL; load = the load generators).',
    '',
    ...table(rows),
    '',
  ].join('\n');
  writeFileSync(`${RESULTS_DIR}/report.md`, md);
  const spec = compile(chartSpec(rows)).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  const png = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    fitTo: { mode: 'zoom', value: 1.5 },
    background: 'white',
  })
    .render()
    .asPng();
  writeFileSync(`${RESULTS_DIR}/report.png`, png);
  view.finalize();
  progress('wrote bench/results/report.md and bench/results/report.png');
}
