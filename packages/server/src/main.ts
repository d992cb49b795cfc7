#!/usr/bin/env node
import process from 'node:process';
import { signUserToken } from './auth/tokens.js';
import { banner } from './banner.js';
import { parseCommand, USAGE } from './cli.js';
import { loadConfig } from './config.js';
import { runDeadLetters } from './dead-letters-cli.js';
import { withDevSecret } from './dev-secret.js';
import { startEngine } from './engine.js';
import { ConfigError } from './errors.js';
import { createLogger } from './logger.js';
import { runPolicyCommand } from './policies-cli.js';

/**
 * The composition root: the only place that reads the environment and the command line,
 * installs signal handlers and sets the exit code.
 */
async function main(argv: string[]): Promise<void> {
  const command = parseCommand(argv);
  if (command.name === 'help') {
    console.log(USAGE);
    return;
  }
  const { env, secretFile } = await withDevSecret(process.env);
  const config = loadConfig(env);
  if (command.name === 'token') {
    const role = command.admin ? 'admin' : 'user';
    // The name travels as the token's `name` claim; the HTTP API records it as the user's profile.
    const names = command.fullname
      ? { fullname: command.fullname, firstname: null, lastname: null }
      : undefined;
    console.log(await signUserToken(config.jwt, { ...command, role, names }));
    return;
  }
  if (command.name === 'dead-letters') {
    const output = await runDeadLetters(command, config);
    for (const line of output.lines) (output.ok ? console.log : console.error)(line);
    if (!output.ok) process.exitCode = 1;
    return;
  }
  if (command.name === 'retention' || command.name === 'user') {
    const output = await runPolicyCommand(command, config, async (chunk) => {
      if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
    });
    for (const line of output.lines) (output.ok ? console.log : console.error)(line);
    if (!output.ok) process.exitCode = 1;
    return;
  }
  const log = createLogger(config.logLevel);
  if (config.jwt.weakSecret) {
    log.warn(
      { secretLength: config.jwt.secret.length },
      'MERCURIO_JWT_SECRET is weak (allowed by MERCURIO_JWT_ALLOW_WEAK_SECRET): whoever guesses it can sign tokens for any user',
    );
  }
  const engine = await startEngine(config, log, {
    router: command.name !== 'api',
    http: command.name !== 'router',
  });
  log.info(
    { http: engine.httpUrl, mqtt: engine.mqtt, router: engine.router !== undefined },
    'mercurio started',
  );
  console.error(banner(config, engine, secretFile));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: finishing messages in flight');
    await engine.stop();
    log.info('stopped');
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(`mercurio: ${error.message}\n${USAGE}`);
  else console.error('mercurio: failed to start:', error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
