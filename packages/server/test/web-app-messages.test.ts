import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { services } from './support/services.js';
import { ENGINES, TestStack } from './support/stack.js';
import { launchChromium, REPO, say, signIn, T, texts } from './support/web-browser.js';

const SCREENSHOTS = `${REPO}packages/web/screenshots`;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const ATTACK = '<img src=x onerror=alert(1)>';

/**
 * Edit, delete, reply, react and mention in the web app (issue 15), between two people in two
 * browser contexts of Debian's Chromium, through the real server on each engine: what one does,
 * the other sees live, and a reload shows the same thread from history.
 */
describe.each(ENGINES)('web app: changing messages in a real browser (%s)', (engine) => {
  const stack = new TestStack(
    'webmsg',
    {
      MERCURIO_DEV: 'true',
      MERCURIO_HTTP_PORT: '0',
      ...(engine === 'rabbitmq' ? { MERCURIO_WEB_MQTT_URL: services().wsUrl } : {}),
    },
    engine,
  );
  let browser: Browser;
  let url = '';
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
    const router = await stack.startRouter({ http: true });
    url = `${router.httpUrl}/?app=${encodeURIComponent(stack.app)}`;
  }, 600_000);

  afterAll(async () => {
    await Promise.allSettled(contexts.map((c) => c.close()));
    await browser?.close();
    await stack.close();
  });

  async function newPage(viewport: { width: number; height: number }): Promise<Page> {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    return context.newPage();
  }

  const shot = async (page: Page, name: string) => {
    // Retaken on request only (MERCURIO_SCREENSHOTS=1), one set, as web-app.test.ts does.
    if (process.env.MERCURIO_SCREENSHOTS === '1' && engine === 'embedded')
      await page.screenshot({ path: `${SCREENSHOTS}/${name}.png` });
  };
  /** The row of the message whose text (or tombstone) is `text`. */
  const message = (page: Page, text: string) =>
    page
      .locator('#messages .message')
      .filter({ has: page.locator('.bubble > .text', { hasText: text }) })
      .last();
  async function act(page: Page, text: string, action: string): Promise<void> {
    const row = message(page, text);
    await row.getByRole('button', { name: 'Message actions' }).click();
    await row.getByRole('button', { name: action, exact: true }).click();
  }

  it('edit, delete, reply, react and mention reach the other person live, and history shows the same', {
    timeout: 120_000,
  }, async () => {
    const alice = await signIn(await newPage(DESKTOP), url, 'alice');
    const bob = await signIn(await newPage(PHONE), url, 'bob');
    await alice.locator('#new-chat').fill('bob');
    await alice.locator('#new-chat').press('Enter');
    await say(alice, 'lunch at noon?');
    await say(alice, 'the usual place');
    await say(alice, 'see you there');
    await bob.locator('#conversations li[data-id="alice"]').click();
    await expect
      .poll(() => texts(bob, '.message.theirs .bubble > .text'), T)
      .toEqual(['lunch at noon?', 'the usual place', 'see you there']);

    // bob replies to the first, mentioning alice through the @-autocomplete (keyboard only).
    await act(bob, 'lunch at noon?', 'Reply');
    await expect.poll(() => bob.locator('#reply-bar .quote-text').textContent(), T).toBe('lunch at noon?');
    await bob.locator('#composer').pressSequentially('yes @al', { delay: 10 });
    await expect
      .poll(() => bob.locator('.mention-list [role=option]').allTextContents(), T)
      .toEqual(['@alice']);
    await bob.locator('#composer').press('Enter'); // picks, does not send
    await expect.poll(() => bob.locator('#composer').inputValue()).toBe('yes @alice ');
    await bob.locator('#composer').pressSequentially('works for me', { delay: 5 });
    await bob.locator('#composer').press('Enter');
    const reply = message(alice, 'works for me');
    await expect.poll(() => reply.locator('.quote .quote-text').textContent(), T).toBe('lunch at noon?');
    expect(await reply.locator('.mention').allTextContents()).toEqual(['@alice']);
    await expect.poll(() => reply.getAttribute('class'), T).toContain('mentioned');

    // alice edits the quoted message in place: bob sees the new text, "edited", and his quote follows.
    await act(alice, 'lunch at noon?', 'Edit');
    const field = alice.getByRole('textbox', { name: 'Edit message' });
    await field.fill('lunch at 1pm?');
    await field.press('Enter');
    await expect.poll(() => message(bob, 'lunch at 1pm?').locator('.edited').textContent(), T).toBe('edited');
    await expect
      .poll(() => message(bob, 'works for me').locator('.quote .quote-text').textContent(), T)
      .toBe('lunch at 1pm?');
    await expect
      .poll(() => message(alice, 'works for me').locator('.quote .quote-text').textContent(), T)
      .toBe('lunch at 1pm?');

    // bob reacts 👍 through the picker; alice sees the count and adds hers by clicking it.
    await act(bob, 'lunch at 1pm?', 'React');
    await bob.getByRole('button', { name: 'React with 👍' }).click();
    const aliceThumb = message(alice, 'lunch at 1pm?').locator('.reaction[data-emoji="👍"]');
    await expect.poll(() => aliceThumb.locator('.count').textContent(), T).toBe('1');
    expect(await aliceThumb.getAttribute('aria-pressed')).toBe('false');
    await aliceThumb.click();
    await expect.poll(() => aliceThumb.getAttribute('aria-pressed'), T).toBe('true');
    const bobThumb = message(bob, 'lunch at 1pm?').locator('.reaction[data-emoji="👍"]');
    await expect.poll(() => bobThumb.locator('.count').textContent(), T).toBe('2');
    expect(await bobThumb.getAttribute('aria-pressed')).toBe('true');
    await act(bob, 'lunch at 1pm?', 'React');
    await bob.getByRole('button', { name: 'React with 😂' }).click();
    await expect
      .poll(() => message(alice, 'lunch at 1pm?').locator('.reaction .emoji').allTextContents(), T)
      .toEqual(['👍', '😂']);

    // alice deletes "see you there" for everyone: a tombstone on both sides, without actions to react.
    await act(alice, 'see you there', 'Delete for everyone');
    await expect
      .poll(() => texts(bob, '.message.theirs .bubble > .text'), T)
      .toEqual(['lunch at 1pm?', 'the usual place', 'This message was deleted']);
    expect(await message(bob, 'This message was deleted').getAttribute('class')).toContain('deleted');
    await expect
      .poll(() => texts(alice, '.message.mine .bubble > .text'), T)
      .toContain('This message was deleted');

    // bob deletes "the usual place" for himself only: gone for him, still there for alice.
    await act(bob, 'the usual place', 'Delete for me');
    await expect
      .poll(() => texts(bob, '.message.theirs .bubble > .text'), T)
      .toEqual(['lunch at 1pm?', 'This message was deleted']);
    expect(await texts(alice, '.message.mine .bubble > .text')).toContain('the usual place');

    // The quote takes bob to the quoted message.
    await message(bob, 'works for me').locator('.quote').click();
    await expect.poll(() => message(bob, 'lunch at 1pm?').getAttribute('class'), T).toContain('flash');
    // …for a moment only.
    await expect.poll(() => message(bob, 'lunch at 1pm?').getAttribute('class'), T).not.toContain('flash');

    await shot(alice, 'desktop-message-actions');
    await act(bob, 'works for me', 'React'); // the picker open in the phone picture
    await shot(bob, 'phone-message-actions');

    // A reload draws the same thread from history: edited text and mark, tombstone, quote,
    // reactions, and for bob no trace of what he deleted for himself.
    await bob.reload();
    await expect.poll(() => bob.locator('#state').textContent(), T).toBe('connected');
    await bob.locator('#conversations li[data-id="alice"]').click();
    await expect
      .poll(() => texts(bob, '.message .bubble > .text'), T)
      .toEqual(['lunch at 1pm?', 'This message was deleted', 'yes @alice works for me']);
    expect(await message(bob, 'lunch at 1pm?').locator('.edited').count()).toBe(1);
    expect(await message(bob, 'lunch at 1pm?').locator('.reaction .count').allTextContents()).toEqual([
      '2',
      '1',
    ]);
    expect(await message(bob, 'works for me').locator('.quote .quote-text').textContent()).toBe(
      'lunch at 1pm?',
    );

    // Keyboard only: alice edits her message to markup; bob sees text, never an element or a dialog.
    const dialogs: string[] = [];
    for (const page of [alice, bob])
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
    await message(alice, 'lunch at 1pm?').locator('.more').focus();
    await alice.keyboard.press('Enter'); // opens the actions, focus on the first (Reply)
    await alice.keyboard.press('Tab'); // React
    await alice.keyboard.press('Tab'); // Edit
    const editButton = message(alice, 'lunch at 1pm?').getByRole('button', { name: 'Edit', exact: true });
    await expect.poll(() => editButton.evaluate((el) => el.ownerDocument.activeElement === el)).toBe(true);
    await alice.keyboard.press('Enter');
    await alice.keyboard.press('ControlOrMeta+a');
    await alice.keyboard.type(ATTACK);
    await alice.keyboard.press('Enter');
    await expect.poll(() => message(bob, ATTACK).locator('.bubble > .text').textContent(), T).toBe(ATTACK);
    await expect
      .poll(() => message(bob, 'works for me').locator('.quote .quote-text').textContent(), T)
      .toBe(ATTACK);
    expect(await bob.locator('#messages img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });
});
