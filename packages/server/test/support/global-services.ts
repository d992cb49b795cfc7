/**
 * Vitest global setup of the server project: starts the throwaway RabbitMQ node and PostgreSQL
 * cluster with `scripts/services.sh start` and provides their coordinates to tests as
 * `inject('services')` (see `services.ts`).
 *
 * Teardown stops them again, unless MERCURIO_SERVICES_KEEP=1 or they were already running before
 * the setup (then whoever started them owns them).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import type { ServicesEnv } from './services-env.js';

export type { ServicesEnv } from './services-env.js';

// The `ProvidedContext` augmentation (`services: ServicesEnv`) lives in services-env.ts, next to the
// interface, so that it is in scope wherever tests import the type or `services()`.

const script = fileURLToPath(new URL('../../../../scripts/services.sh', import.meta.url));

/** Runs `bash scripts/services.sh <args>`: stdout captured, stderr (progress) shown as is. */
function run(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout }));
  });
}

/** Parses the `export NAME='value'` lines printed by `services.sh env|start`. */
function parseEnvLines(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Za-z_][A-Za-z0-9_]*)='((?:[^']|'\\'')*)'$/.exec(line.trim());
    if (match) vars[match[1]!] = match[2]!.replaceAll("'\\''", "'");
  }
  return vars;
}

function toServicesEnv(vars: Record<string, string>): ServicesEnv {
  const get = (name: string): string => {
    const value = vars[name];
    if (!value) throw new Error(`scripts/services.sh did not print ${name}`);
    return value;
  };
  return {
    amqpUrl: get('MERCURIO_TEST_AMQP_URL'),
    mqttUrl: get('MERCURIO_TEST_MQTT_URL'),
    wsUrl: get('MERCURIO_TEST_WS_URL'),
    pgUrl: get('MERCURIO_TEST_PG_URL'),
    jwtSecret: get('MERCURIO_TEST_JWT_SECRET'),
    rabbitmqctl: get('MERCURIO_TEST_RABBITMQCTL'),
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const before = await run(['status']);
  const wasRunning = before.code === 0;
  const keep = process.env.MERCURIO_SERVICES_KEEP === '1' || wasRunning;

  const started = await run(['start']);
  if (started.code !== 0) {
    // Do not leave half of it running (e.g. RabbitMQ up, PostgreSQL failed) unless it is not ours.
    if (!keep) await run(['stop']);
    throw new Error(`scripts/services.sh start failed (exit ${started.code}); see the output above`);
  }
  project.provide('services', toServicesEnv(parseEnvLines(started.stdout)));

  return async () => {
    if (keep) {
      process.stderr.write(
        `[services] left running (${wasRunning ? 'were running before the tests' : 'MERCURIO_SERVICES_KEEP=1'}); ` +
          'stop with: bash scripts/services.sh stop\n',
      );
      return;
    }
    const stopped = await run(['stop']);
    if (stopped.code !== 0)
      process.stderr.write(`[services] scripts/services.sh stop exited ${stopped.code}\n`);
  };
}
