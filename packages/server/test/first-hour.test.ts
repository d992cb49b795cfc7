/**
 * A newcomer's first minutes: a fresh clone of the repository, the README's first command exactly
 * as written, and the web chat app in a browser — the sign-in page, then two people chatting.
 * What is tested is what is committed (the clone), as on a new machine.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, REPO, say, signIn, T, texts } from './support/web-browser.js';

/** The first command of the README's first shell block. */
function readmeFirstCommand(): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const block = /```sh\n([^\n]*)\n/.exec(readme);
  if (!block) throw new Error('README.md has no ```sh block');
  return block[1]!.replace(/\s+#.*$/, '').trim();
}

/** The environment of a person's shell: none of the test run's MERCURIO_* settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('MERCURIO_') && !name.startsWith('VITEST') && name !== 'NODE_OPTIONS')
      env[name] = value;
  }
  return env;
}

describe("a newcomer's first hour", () => {
  const dir = mkdtempSync(join(tmpdir(), 'mercurio-clone-'));
  let child: ChildProcess | undefined;
  let output = '';
  let browser: Browser;
  let webApp = '';

  beforeAll(async () => {
    const command = readmeFirstCommand();
    expect(command).toBe('npm ci && npm start');
    execFileSync('git', ['clone', '--quiet', '--depth', '1', `file://${REPO}`, dir], { stdio: 'inherit' });
    // Ports of its own (0: any free one), so that a developer's running Mercurio is not in the way.
    child = spawn('bash', ['-c', command], {
      cwd: dir,
      env: { ...cleanEnv(), MERCURIO_HTTP_PORT: '0', MERCURIO_MQTT_PORT: '0' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = new Promise<string>((resolve, reject) => {
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        const line = /Web chat app +(http:\/\/\S+)/.exec(output);
        if (line) resolve(line[1]!);
      };
      child!.stdout!.on('data', read);
      child!.stderr!.on('data', read);
      child!.once('exit', (code) => reject(new Error(`exited with ${code} before serving:\n${output}`)));
    });
    webApp = await started;
    browser = await launchChromium();
  }, 480_000);

  afterAll(async () => {
    await browser?.close();
    if (child?.pid !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('prints the whole product in its banner: web app with its sign-in, API, MQTT, tokens', () => {
    expect(output).toMatch(
      /Web chat app +http:\/\/127\.0\.0\.1:\d+\/ +\(dev mode: sign in with any user name/,
    );
    expect(output).toMatch(/HTTP API +http:\/\/127\.0\.0\.1:\d+\/api/);
    expect(output).toMatch(/MQTT over TCP +mqtt:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/MQTT over WebSocket +ws:\/\/127\.0\.0\.1:\d+\/ws/);
    expect(output).toContain('npm run token');
    expect(output).not.toMatch(/EBADENGINE/);
  });

  it('shows the sign-in page, and two people chat', { timeout: 120_000 }, async () => {
    const alice = await (await browser.newContext()).newPage();
    await alice.goto(webApp);
    await expect.poll(() => alice.locator('#login-user').isVisible(), T).toBe(true);
    await signIn(alice, webApp, 'alice');
    const bob = await signIn(await (await browser.newContext()).newPage(), webApp, 'bob');

    await alice.locator('#new-chat').fill('bob');
    await alice.locator('#new-chat').press('Enter');
    await say(alice, 'welcome to Mercurio, bob');
    await bob.locator('#conversations li.conversation').filter({ hasText: 'alice' }).first().click();
    await expect.poll(() => texts(bob, '.message.theirs .text'), T).toEqual(['welcome to Mercurio, bob']);
    await say(bob, 'thanks alice');
    await expect.poll(() => texts(alice, '.message.theirs .text'), T).toEqual(['thanks alice']);
  });
});
