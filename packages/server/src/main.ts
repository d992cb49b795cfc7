#!/usr/bin/env node
import process from 'node:process';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';
import { createLogger } from './logger.js';
import { startRabbitRouter } from './router-service.js';

/**
 * The composition root: the only place that reads the environment, installs signal handlers
 * and sets the exit code.
 *
 *   mercurio router   run the router against RabbitMQ and PostgreSQL (MERCURIO_AMQP_URL,
 *                     MERCURIO_DATABASE_URL, MERCURIO_JWT_SECRET)
 */
async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'router';
  if (command !== 'router') {
    console.error(`unknown command "${command}"; usage: mercurio router`);
    process.exitCode = 2;
    return;
  }
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel);
  const running = await startRabbitRouter(config, log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing messages in flight');
    await running.stop();
    log.info('stopped');
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(`mercurio: configuration error: ${error.message}`);
  else console.error('mercurio: failed to start:', error);
  process.exitCode = 1;
});
