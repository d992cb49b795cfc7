/**
 * The bench's one entry point: `npm run bench -- <scenario> [--engine rabbitmq|embedded|both]`.
 * Scenarios: relay, rawrouter, direct, mixed, group, connections, history, all; `report` writes the report from
 * bench/results/results.csv. See bench/README.md.
 */
import { ALL, FULL, type Scale } from './scale.js';
import { connectionsScenario } from './scenarios/connections.js';
import { groupScenario } from './scenarios/group.js';
import { historyScenario } from './scenarios/history.js';
import { directScenario, rawRouterScenario, relayScenario } from './scenarios/messages.js';
import { mixedScenario } from './scenarios/mixed.js';
import { gitCommit, progress } from './support.js';
import { type EngineName, startTarget, stopBenchServices, type Target } from './target.js';

type Scenario = (t: Target, scale: Scale) => Promise<void>;

const SCENARIOS: Record<string, Scenario> = {
  relay: relayScenario,
  rawrouter: rawRouterScenario,
  direct: directScenario,
  group: groupScenario,
  connections: connectionsScenario,
  history: historyScenario,
  mixed: mixedScenario,
};
const ORDER = ['relay', 'rawrouter', 'direct', 'mixed', 'group', 'history', 'connections'];

const USAGE = `usage: npm run bench -- <${[...Object.keys(SCENARIOS), 'all', 'report'].join('|')}>[,<scenario>…] [--engine rabbitmq|embedded|both] [--keep-services]`;

function parse(argv: string[]) {
  let engine = 'both';
  let keepServices = false;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--engine') engine = argv[++i] ?? '';
    else if (arg.startsWith('--engine=')) engine = arg.slice('--engine='.length);
    else if (arg === '--keep-services') keepServices = true;
    else names.push(...arg.split(',').filter(Boolean));
  }
  if (!['rabbitmq', 'embedded', 'both'].includes(engine)) throw new Error(USAGE);
  const engines: EngineName[] = engine === 'both' ? ['rabbitmq', 'embedded'] : [engine as EngineName];
  return { engines, names, keepServices };
}

async function main(): Promise<void> {
  const { engines, names, keepServices } = parse(process.argv.slice(2));
  if (names.length === 0 || names.some((n) => n !== 'all' && n !== 'report' && !SCENARIOS[n])) {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  if (names.length === 1 && names[0] === 'report') {
    const { writeReport } = await import('./report.js');
    await writeReport();
    return;
  }
  const all = names.includes('all');
  const scale = all ? ALL : FULL;
  const scenarios = all ? ORDER : ORDER.filter((n) => names.includes(n));
  const info = { run: new Date().toISOString(), commit: gitCommit() };
  progress(`run ${info.run} at ${info.commit}: ${scenarios.join(', ')} on ${engines.join(' and ')}`);
  const t0 = performance.now();
  let servicesStarted = false;
  try {
    for (const engine of engines) {
      const target = await startTarget(engine, info);
      servicesStarted ||= target.services !== undefined;
      try {
        for (const name of scenarios) {
          progress(`== ${engine}: ${name}`);
          await SCENARIOS[name]!(target, scale);
        }
      } finally {
        progress(`stopping the ${engine} engine…`);
        await target.stop();
      }
    }
  } finally {
    if (servicesStarted && !keepServices) {
      progress('stopping the bench RabbitMQ + PostgreSQL…');
      stopBenchServices();
    }
  }
  progress(
    `done in ${((performance.now() - t0) / 1000).toFixed(0)} s; results appended to bench/results/results.csv`,
  );
  if (all || names.includes('report')) {
    const { writeReport } = await import('./report.js');
    await writeReport();
  }
}

main().then(
  () => process.exit(),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
