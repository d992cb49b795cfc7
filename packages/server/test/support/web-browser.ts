import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { WEB_DIST } from '../../src/http/web-app.js';

/** Helpers of the browser tests of the web app (web-app.test.ts, web-app-security.test.ts). */

export const REPO = new URL('../../../../', import.meta.url).pathname;
export const SDK_BUNDLE = `${REPO}packages/sdk/dist/browser/mercurio-sdk.js`;
export const T = { timeout: 15_000 };

/**
 * Debian's Chromium through the project's own script (apt-get when missing), headless; the web
 * app and the SDK's browser bundle built first when missing.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = execFileSync('bash', [`${REPO}scripts/browser.sh`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  if (!existsSync(`${WEB_DIST}index.html`) || !existsSync(`${WEB_DIST}widget.js`)) {
    execFileSync('npm', ['run', 'build', '-w', '@mercurio/web'], { cwd: REPO, stdio: 'inherit' });
  }
  if (!existsSync(SDK_BUNDLE)) {
    execFileSync('npm', ['run', 'build:browser', '-w', '@mercurio/sdk'], { cwd: REPO, stdio: 'inherit' });
  }
  return chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** The development sign-in: a user name, then connected. */
export async function signIn(page: Page, url: string, user: string): Promise<Page> {
  await page.goto(url);
  await page.locator('#login-user').fill(user);
  await page.locator('#login-form button[type=submit]').click();
  await expect.poll(() => page.locator('#me').textContent(), T).toBe(user);
  await expect.poll(() => page.locator('#state').textContent(), T).toBe('connected');
  return page;
}

export async function say(page: Page, text: string): Promise<void> {
  await page.locator('#composer').fill(text);
  await page.locator('#composer').press('Enter');
}

/** The texts of the open thread's elements matching `selector`. */
export const texts = (page: Page, selector: string) =>
  page.locator(`#messages ${selector}`).allTextContents();
