import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { REPO } from './support.js';

export const RESULTS_DIR = `${REPO}bench/results`;
export const RESULTS_CSV = `${RESULTS_DIR}/results.csv`;

/** One measurement: one CSV row. */
export interface Row {
  /** When the bench run started (ISO): the rows of one run share it. */
  run: string;
  commit: string;
  engine: 'rabbitmq' | 'embedded';
  scenario: string;
  /** What was measured, e.g. `throughput`, `latency_p99`, `connections`. */
  measure: string;
  /** `key=value;…` (rate, group size, counts). */
  params: string;
  value: number;
  unit: string;
  /** The raw broker relay measured in the same run (msgs/s, or ms for a latency), when it applies. */
  relay: number | undefined;
  /** value ÷ relay. */
  ratio: number | undefined;
  /** CPU use of each process during the measurement, % of one core (the machine has 2). */
  cpu: string;
}

const COLUMNS = [
  'run',
  'commit',
  'engine',
  'scenario',
  'measure',
  'params',
  'value',
  'unit',
  'relay',
  'ratio',
  'cpu',
] as const;

const quote = (value: string) => (/[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);

export function appendRow(row: Row): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  if (!existsSync(RESULTS_CSV)) writeFileSync(RESULTS_CSV, `${COLUMNS.join(',')}\n`);
  const cells = COLUMNS.map((column) => {
    const value = row[column];
    if (value === undefined) return '';
    if (typeof value === 'number') return String(Math.round(value * 1000) / 1000);
    return quote(value);
  });
  appendFileSync(RESULTS_CSV, `${cells.join(',')}\n`);
}

/** Parses the CSV this module writes (quoted cells may hold commas and quotes). */
export function readRows(): Row[] {
  if (!existsSync(RESULTS_CSV)) return [];
  const lines = readFileSync(RESULTS_CSV, 'utf8').split('\n').filter(Boolean);
  const header = parseLine(lines[0] ?? '');
  return lines.slice(1).map((line) => {
    const cells = parseLine(line);
    const get = (name: string) => cells[header.indexOf(name)] ?? '';
    const num = (name: string) => (get(name) === '' ? undefined : Number(get(name)));
    return {
      run: get('run'),
      commit: get('commit'),
      engine: get('engine') as Row['engine'],
      scenario: get('scenario'),
      measure: get('measure'),
      params: get('params'),
      value: Number(get('value')),
      unit: get('unit'),
      relay: num('relay'),
      ratio: num('ratio'),
      cpu: get('cpu'),
    };
  });
}

function parseLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}
