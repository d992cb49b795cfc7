/**
 * A Chat21 operator keeps their existing (short) JWT secret and the tokens signed with it:
 * refused without MERCURIO_JWT_ALLOW_WEAK_SECRET, warned about with it, and then Chat21's own
 * tokens work on both brokers — the embedded one and a real RabbitMQ configured by the
 * services script with that secret.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { banner } from '../src/banner.js';
import { type Config, loadConfig } from '../src/config.js';
import { type Engine, startEngine } from '../src/engine.js';
import { createLogger } from '../src/logger.js';
import { TestClient } from './support/mqtt-client.js';
import { services } from './support/services.js';

/** Chat21's default secret (`tokenKey`, 8 characters). */
const CHAT21_SECRET = 'tokenKey';
const SCRIPT = fileURLToPath(new URL('../../../scripts/services.sh', import.meta.url));

/** A token exactly as Tiledesk's createCustomToken signs it (chat21-protocol.md §6.1). */
function chat21Token(app: string, user: string, secret = CHAT21_SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    scope: [
      `rabbitmq.read:*/*/apps.${app}.users.${user}.*`,
      `rabbitmq.write:*/*/apps.${app}.users.${user}.*`,
      `rabbitmq.write:*/*/apps.${app}.outgoing.users.${user}.*`,
      'rabbitmq.configure:*/*/*',
    ],
    client_id: user,
    cid: user,
    azp: user,
    user_id: user,
    app_id: app,
    kid: 'tiledesk-key',
    tiledesk_api_roles: 'user',
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setJti(randomUUID())
    .setSubject(user)
    .setAudience(['rabbitmq', user])
    .setIssuedAt(now)
    .setExpirationTime(now + 30 * 24 * 3600)
    .sign(new TextEncoder().encode(secret));
}

function runServices(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function exported(stdout: string, name: string): string {
  const match = new RegExp(`^export ${name}='([^']*)'$`, 'm').exec(stdout);
  if (!match) throw new Error(`services.sh did not print ${name}`);
  return match[1]!;
}

/** Sends alice → bob through a running engine with Chat21-signed tokens; returns bob's copy. */
async function chat(url: string, app: string, clients: TestClient[]): Promise<Record<string, unknown>> {
  const alice = await TestClient.connect(url, await chat21Token(app, 'alice'));
  const bob = await TestClient.connect(url, await chat21Token(app, 'bob'));
  clients.push(alice, bob);
  await bob.subscribe(`apps/${app}/users/bob/#`);
  await alice.publish(`apps/${app}/outgoing/users/alice/messages/bob/outgoing`, { text: 'still our tokens' });
  return (await bob.waitFor((m) => m.payload.text === 'still our tokens')).payload;
}

describe('a Chat21 deployment keeps its short JWT secret', () => {
  it('is refused without MERCURIO_JWT_ALLOW_WEAK_SECRET, with a message that names the way out', () => {
    expect(() => loadConfig({ MERCURIO_JWT_SECRET: CHAT21_SECRET })).toThrow(
      /MERCURIO_JWT_SECRET must be at least 32 characters \(it has 8\).*MERCURIO_JWT_ALLOW_WEAK_SECRET=true/,
    );
    const config = loadConfig({ MERCURIO_JWT_SECRET: CHAT21_SECRET, MERCURIO_JWT_ALLOW_WEAK_SECRET: 'true' });
    expect(config.jwt.weakSecret).toBe(true);
    expect(loadConfig({ MERCURIO_JWT_SECRET: 'x'.repeat(32) }).jwt.weakSecret).toBe(false);
  });

  it('is refused by the services script too, before anything starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mercurio-weak-'));
    try {
      const result = await runServices(['start'], {
        MERCURIO_SERVICES_DIR: dir,
        MERCURIO_SVC_JWT_SECRET: CHAT21_SECRET,
      });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(
        /at least 32 characters \(it has 8\).*MERCURIO_JWT_ALLOW_WEAK_SECRET=true/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('embedded engine', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mercurio-weak-embedded-'));
    const app = `weak-${randomUUID().slice(0, 8)}`;
    const clients: TestClient[] = [];
    let config: Config;
    let engine: Engine;

    beforeAll(async () => {
      config = loadConfig({
        MERCURIO_JWT_SECRET: CHAT21_SECRET,
        MERCURIO_JWT_ALLOW_WEAK_SECRET: 'true',
        MERCURIO_DATA_DIR: dataDir,
        MERCURIO_MQTT_PORT: '0',
        MERCURIO_HTTP_PORT: '0',
        MERCURIO_LOG_LEVEL: 'silent',
      });
      engine = await startEngine(config, createLogger('silent'), { router: true, http: true });
    });
    afterAll(async () => {
      await Promise.allSettled(clients.map((c) => c.end()));
      await engine?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('says loudly at start that the secret is weak', () => {
      expect(banner(config, engine, undefined)).toMatch(/WEAK JWT SECRET .* 8 characters/);
    });

    it("accepts Chat21's tokens over MQTT and HTTP, and refuses tokens signed with another secret", async () => {
      const copy = await chat(engine.mqtt!.tcpUrl, app, clients);
      expect(copy).toMatchObject({ sender: 'alice', recipient: 'bob', status: 150 });
      const list = await fetch(`${engine.httpUrl}/api/${app}/bob/conversations`, {
        headers: { authorization: await chat21Token(app, 'bob') },
      });
      expect(list.status).toBe(200);
      const forged = await fetch(`${engine.httpUrl}/api/${app}/bob/conversations`, {
        headers: { authorization: await chat21Token(app, 'bob', 'tokenKez') },
      });
      // Chat21's routes answer a bad token with 403, as Chat21 did.
      expect(forged.status).toBe(403);
      expect(forged.headers.get('x-mercurio-error')).toBe('unauthorized');
      await expect(
        TestClient.connect(engine.mqtt!.tcpUrl, await chat21Token(app, 'bob', 'tokenKez')),
      ).rejects.toThrow();
    });
  });

  describe('RabbitMQ configured by the services script with the short secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mercurio-weak-rmq-'));
    const app = `weak-${randomUUID().slice(0, 8)}`;
    const clients: TestClient[] = [];
    // Ports apart from the shared test services' (35xxx) and npm start:rabbitmq's (36xxx).
    const svcEnv = {
      MERCURIO_SERVICES_DIR: dir,
      MERCURIO_SVC_NODENAME: `mercurio-weak-${process.pid}`,
      MERCURIO_SVC_AMQP_PORT: '37672',
      MERCURIO_SVC_MQTT_PORT: '37883',
      MERCURIO_SVC_WS_PORT: '37675',
      MERCURIO_SVC_DIST_PORT: '37673',
      MERCURIO_SVC_EPMD_PORT: '37369',
      MERCURIO_SVC_PG_PORT: '37432',
      MERCURIO_SVC_CTL_DIST_PORT_MIN: '37690',
      MERCURIO_SVC_JWT_SECRET: CHAT21_SECRET,
      MERCURIO_JWT_ALLOW_WEAK_SECRET: 'true',
    };
    let engine: Engine | undefined;
    let started: { stdout: string; stderr: string };

    beforeAll(async () => {
      const result = await runServices(['start'], svcEnv);
      if (result.code !== 0) throw new Error(`services.sh start failed:\n${result.stderr}`);
      started = result;
      const config = loadConfig({
        MERCURIO_JWT_SECRET: CHAT21_SECRET,
        MERCURIO_JWT_ALLOW_WEAK_SECRET: 'true',
        MERCURIO_AMQP_URL: exported(result.stdout, 'MERCURIO_TEST_AMQP_URL'),
        MERCURIO_DATABASE_URL: services().pgUrl,
        MERCURIO_APP_ID: app,
        MERCURIO_QUEUE_PREFIX: `test-${app}`,
        MERCURIO_LOG_LEVEL: 'silent',
      });
      engine = await startEngine(config, createLogger('silent'), { router: true, http: false });
    }, 120_000);
    afterAll(async () => {
      await Promise.allSettled(clients.map((c) => c.end()));
      await engine?.stop();
      await runServices(['stop', '--purge'], svcEnv);
      rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('warns while starting, then the broker and the router accept Chat21-signed tokens', async () => {
      expect(started.stderr).toContain('WEAK JWT SECRET');
      const copy = await chat(exported(started.stdout, 'MERCURIO_TEST_MQTT_URL'), app, clients);
      expect(copy).toMatchObject({ sender: 'alice', recipient: 'bob', status: 150 });
      await expect(
        TestClient.connect(
          exported(started.stdout, 'MERCURIO_TEST_MQTT_URL'),
          await chat21Token(app, 'bob', 'tokenKez'),
        ),
      ).rejects.toThrow();
    });
  });
});
