import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect, type MercurioClient } from '@mercurio/sdk';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEB_DIST } from '../src/http/web-app.js';
import { TestStack } from './support/stack.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const SCREENSHOTS = `${REPO}packages/web/screenshots`;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** The web chat app (packages/web) in Debian's Chromium, against an embedded engine in dev mode. */
describe('web chat app in a real browser (embedded engine)', () => {
  const stack = new TestStack('web', { MERCURIO_DEV: 'true' }, 'embedded');
  let browser: Browser;
  let base = '';
  let carol: MercurioClient | undefined;
  const contexts: BrowserContext[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    // Chromium through the project's own script (apt-get when missing), the app built when missing.
    const executablePath = execFileSync('bash', [`${REPO}scripts/browser.sh`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    if (!existsSync(`${WEB_DIST}index.html`)) {
      execFileSync('npm', ['run', 'build', '-w', '@mercurio/web'], { cwd: REPO, stdio: 'inherit' });
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
    const engine = await stack.startRouter({ http: true });
    base = `${engine.httpUrl}/?app=${encodeURIComponent(stack.app)}`;
    browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 600_000);

  afterAll(async () => {
    await carol?.close().catch(() => {});
    await Promise.allSettled(contexts.map((c) => c.close()));
    await browser?.close();
    await stack.close();
  });

  async function signIn(user: string, viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(base);
    await page.locator('#login-user').fill(user);
    await page.locator('#login-form button[type=submit]').click();
    await expect.poll(() => page.locator('#me').textContent(), { timeout: 15_000 }).toBe(user);
    await expect.poll(() => page.locator('#state').textContent()).toBe('connected');
    return page;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: `${SCREENSHOTS}/${name}.png` });

  it('two people chat: delivery, read marks, escaping, groups and search', { timeout: 90_000 }, async () => {
    const response = await fetch(base);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');

    const alice = await signIn('alice', DESKTOP);
    const bob = await signIn('bob', PHONE);

    // Alice starts a chat with bob and sends with Enter; bob's list shows it with an unread badge.
    await alice.locator('#new-chat').fill('bob');
    await alice.locator('#new-chat').press('Enter');
    await alice.locator('#composer').fill('hello bob');
    await alice.locator('#composer').press('Enter');
    const bobRow = bob.locator('#conversations li[data-id="alice"]');
    await expect.poll(() => bobRow.locator('.last').textContent(), { timeout: 15_000 }).toBe('hello bob');
    await expect.poll(() => bobRow.locator('.badge').textContent()).toBe('1');
    await shot(bob, 'phone-conversations');

    // Bob opens it: he sees the message, alice sees the read mark.
    await bobRow.click();
    const bobThread = bob.locator('#messages');
    await expect
      .poll(() => bobThread.locator('.message.theirs .text').allTextContents())
      .toEqual(['hello bob']);
    const aliceMark = alice.locator('#messages .message.mine .mark').first();
    await expect.poll(() => aliceMark.getAttribute('data-mark'), { timeout: 15_000 }).toBe('read');
    expect(await bobRow.locator('.badge').count()).toBe(0);

    // Markup in a message is text, in the thread and in the conversation list.
    const attack = '<img src=x onerror=alert(1)>';
    await alice.locator('#composer').fill(attack);
    await alice.locator('#composer').press('Enter');
    await expect
      .poll(() => bobThread.locator('.message.theirs .text').allTextContents(), { timeout: 15_000 })
      .toEqual(['hello bob', attack]);
    expect(await bob.locator('img').count()).toBe(0);
    expect(await alice.locator('img').count()).toBe(0);
    await expect
      .poll(() => alice.locator('#messages .message.mine .mark').last().getAttribute('data-mark'))
      .toBe('read');

    // A group message from a third member (an SDK client in Node) shows with its sender.
    await stack.createGroup('team', 'carol', ['alice', 'bob', 'carol']);
    const engine = stack.router!;
    carol = await connect({
      endpoint: engine.mqtt!.wsUrl!,
      apiEndpoint: `${engine.httpUrl}/api`,
      token: await stack.token('carol'),
      mqttOptions: { clean: true },
    });
    await carol.sendMessage('team', 'hello team', { group: true });
    const aliceTeam = alice.locator('#conversations li[data-id="team"]');
    await expect.poll(() => aliceTeam.locator('.last').textContent(), { timeout: 15_000 }).toBe('hello team');
    await aliceTeam.click();
    await expect
      .poll(() => alice.locator('#messages .message.theirs .sender').allTextContents())
      .toEqual(['carol']);
    await alice.locator('#composer').fill('hi carol');
    await alice.locator('#composer').press('Enter');
    await expect
      .poll(async () => (await carol!.history('team')).messages.map((m) => m.text), { timeout: 15_000 })
      .toEqual(['hello team', 'hi carol']);
    await shot(alice, 'desktop-group');

    // Search across conversations, with the match highlighted (as text), opening the thread.
    await bob.locator('.back').click();
    await bob.locator('#search').fill('hello');
    await bob.locator('#search').press('Enter');
    const results = bob.locator('#search-results .result');
    await expect.poll(() => results.count(), { timeout: 15_000 }).toBe(2);
    expect(await bob.locator('#search-results mark').first().textContent()).toBe('hello');
    await shot(bob, 'phone-search');
    await results.filter({ hasText: 'hello bob' }).click();
    await expect.poll(() => bob.locator('#thread-title').textContent()).toBe('alice');
    await shot(bob, 'phone-thread');

    await alice.locator('#conversations li[data-id="bob"]').click();
    await expect.poll(() => alice.locator('#messages .message.mine').count()).toBe(2);
    await shot(alice, 'desktop-thread');

    // A reload keeps the session and the history.
    await bob.reload();
    await expect.poll(() => bob.locator('#conversations li').count(), { timeout: 15_000 }).toBe(2);

    expect(dialogs).toEqual([]);
  });
});
