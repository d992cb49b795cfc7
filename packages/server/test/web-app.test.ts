import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type MercurioClient } from '@mercurio/sdk';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { services } from './support/services.js';
import { ENGINES, TestStack } from './support/stack.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { launchChromium, REPO, SDK_BUNDLE, T } from './support/web-browser.js';

const SCREENSHOTS = `${REPO}packages/web/screenshots`;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** Older messages seeded into alice's conversation with dave: more than two history pages (30 each). */
const SEEDED = 75;
const ATTACK = '<img src=x onerror=alert(1)>';

/**
 * The web chat app (packages/web) in Debian's Chromium, three people in three browser contexts
 * chatting through the real server, on each engine. On RabbitMQ the browsers connect to
 * RabbitMQ's Web-MQTT (the server's MERCURIO_WEB_MQTT_URL, which the app reads from
 * /config.json) and the dev login signs with the stack's JWT secret.
 */
describe.each(ENGINES)('web chat app in a real browser (%s)', (engine) => {
  const stack = new TestStack(
    'web',
    {
      MERCURIO_DEV: 'true',
      MERCURIO_HTTP_PORT: '0',
      // Tokens outlive the day the "tomorrow" browser pretends it is (day separators).
      MERCURIO_USER_TOKEN_TTL_SECONDS: String(3 * 86_400),
      ...(engine === 'rabbitmq' ? { MERCURIO_WEB_MQTT_URL: services().wsUrl } : {}),
    },
    engine,
  );
  let browser: Browser;
  let http = '';
  let ws = '';
  let proxy: TcpProxy;
  let dave: MercurioClient | undefined;
  const contexts: BrowserContext[] = [];
  const dialogs: string[] = [];
  let alice: Page;
  let bob: Page;
  let carol: Page;
  let bobContext: BrowserContext;

  beforeAll(async () => {
    browser = await launchChromium();
    mkdirSync(SCREENSHOTS, { recursive: true });
    const router = await stack.startRouter({ http: true });
    http = router.httpUrl!;
    ws = engine === 'rabbitmq' ? services().wsUrl : router.mqtt!.wsUrl!;
    // carol's browser reaches the broker through a relay the test can cut: a real network outage.
    const target = new URL(ws);
    proxy = await TcpProxy.start(target.hostname, Number(target.port));

    // dave (an SDK client in Node) wrote to alice long ago: history to scroll back through.
    dave = await connect({
      endpoint: ws,
      apiEndpoint: `${http}/api`,
      token: await stack.token('dave'),
      mqttOptions: { clean: true },
    });
    for (let n = 1; n <= SEEDED; n++) {
      await dave.sendMessage('alice', n === 5 ? `older message ${n} about pineapples` : `older message ${n}`);
    }
    for (let tries = 0; (await dave.history('alice', { limit: 1 })).lastSeq !== SEEDED; tries++) {
      if (tries > 100) throw new Error(`the ${SEEDED} seeded messages were not all stored`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 600_000);

  afterAll(async () => {
    await dave?.close().catch(() => {});
    await Promise.allSettled(contexts.map((c) => c.close()));
    await browser?.close();
    await proxy?.close();
    await stack.close();
  });

  /** The app's address: this stack's app (the server tells it where its MQTT WebSocket is). */
  const appUrl = () => `${http}/?app=${encodeURIComponent(stack.app)}`;

  /**
   * A browser whose MQTT WebSocket goes through the relay the test can cut: the network between
   * this browser and the server says so (its config.json names the relay), as a proxy in the way
   * would; the browser's context ignores the page's CSP, which allows only the server's own
   * endpoints (rewriting the header instead would make Chromium treat the page as public and
   * block its loopback connections). The app itself never takes an endpoint from anywhere else.
   */
  async function throughRelay(relay: string): Promise<Page> {
    const page = await newPage(DESKTOP, { bypassCSP: true });
    const app = new URL(http);
    await page.route(
      (url) => url.origin === app.origin && url.pathname === '/config.json',
      async (route) => {
        const response = await route.fetch();
        await route.fulfill({ response, json: { ...(await response.json()), ws: relay } });
      },
    );
    return page;
  }

  async function newPage(
    viewport: { width: number; height: number },
    options: { bypassCSP?: boolean } = {},
  ): Promise<Page> {
    const context = await browser.newContext({ viewport, ...options });
    contexts.push(context);
    const page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    return page;
  }

  async function signIn(page: Page, user: string, url = appUrl()): Promise<Page> {
    await page.goto(url);
    await page.locator('#login-user').fill(user);
    await page.locator('#login-form button[type=submit]').click();
    await expect.poll(() => page.locator('#me').textContent(), T).toBe(user);
    await expect.poll(() => page.locator('#state').textContent(), T).toBe('connected');
    return page;
  }

  const shot = async (page: Page, name: string) => {
    // The README's pictures, retaken on request (MERCURIO_SCREENSHOTS=1), never as a side effect of a
    // test run; one set (they look the same on both engines).
    if (process.env.MERCURIO_SCREENSHOTS === '1' && engine === 'embedded')
      await page.screenshot({ path: `${SCREENSHOTS}/${name}.png` });
  };
  const row = (page: Page, id: string) => page.locator(`#conversations li[data-id="${id}"]`);
  const rowByName = (page: Page, name: string) =>
    page.locator('#conversations li.conversation').filter({ has: page.locator('.name', { hasText: name }) });
  const texts = (page: Page, selector: string) => page.locator(`#messages ${selector}`).allTextContents();
  async function say(page: Page, text: string): Promise<void> {
    await page.locator('#composer').fill(text);
    await page.locator('#composer').press('Enter');
  }
  const mark = (locator: Locator) => locator.locator('.mark').getAttribute('data-mark');

  it('serves the app and the widget loader', async () => {
    const page = await fetch(`${http}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const loader = await fetch(`${http}/widget.js`);
    expect(loader.status).toBe(200);
    expect(loader.headers.get('content-type')).toContain('javascript');
    expect(await loader.text()).toContain('MercurioWidget');
  });

  it('direct chat: unread badge, read marks on the sender side, typing, presence, markup shown as text', {
    timeout: 120_000,
  }, async () => {
    alice = await signIn(await newPage(DESKTOP), 'alice');
    const bobPage = await newPage(PHONE);
    bobContext = bobPage.context();
    bob = await signIn(bobPage, 'bob');

    // alice starts a chat with bob and sends with Enter; bob's list shows it with an unread badge.
    await alice.locator('#new-chat').fill('bob');
    await alice.locator('#new-chat').press('Enter');
    await say(alice, 'hello bob');
    const bobRow = row(bob, 'alice');
    await expect.poll(() => bobRow.locator('.last').textContent(), T).toBe('hello bob');
    await expect.poll(() => bobRow.locator('.badge').textContent()).toBe('1');
    // Presence: each sees the other online, in the list and in the thread header.
    await expect.poll(() => bobRow.locator('.dot').getAttribute('data-presence'), T).toBe('online');
    await expect
      .poll(() => alice.locator('#thread-title .dot').getAttribute('data-presence'), T)
      .toBe('online');
    await expect.poll(() => alice.locator('#thread-subtitle').textContent()).toBe('online');
    await shot(bob, 'phone-conversations');

    // bob opens it: he sees the message, alice sees the read mark; his badge is gone.
    await bobRow.click();
    await expect.poll(() => texts(bob, '.message.theirs .text'), T).toEqual(['hello bob']);
    const aliceFirst = alice.locator('#messages .message.mine').first();
    await expect.poll(() => mark(aliceFirst), T).toBe('read');
    await bob.locator('.back').click();
    expect(await bobRow.locator('.badge').count()).toBe(0);
    await bobRow.click();

    // alice types: bob sees it in the thread; sending ends it.
    await alice.locator('#composer').pressSequentially('are you the', { delay: 20 });
    await expect.poll(() => bob.locator('#typing').textContent(), T).toBe('alice is typing…');
    expect(await bob.locator('#typing').isVisible()).toBe(true);
    await alice.locator('#composer').press('Enter');
    await expect.poll(() => bob.locator('#typing').isVisible(), T).toBe(false);
    await expect.poll(() => texts(bob, '.message.theirs .text'), T).toEqual(['hello bob', 'are you the']);

    // Markup in a message is text, in the thread and in the conversation list.
    await say(alice, ATTACK);
    await expect
      .poll(() => texts(bob, '.message.theirs .text'), T)
      .toEqual(['hello bob', 'are you the', ATTACK]);
    await say(bob, 'yes, what is it?');
    await expect.poll(() => row(alice, 'bob').locator('.last').textContent(), T).toBe('yes, what is it?');
    expect(await bob.locator('#messages img').count()).toBe(0);
    expect(await alice.locator('img').count()).toBe(0);
    await expect.poll(() => mark(alice.locator('#messages .message.mine').last()), T).toBe('read');
    // One "Today" separator above today's messages.
    expect(await texts(bob, '.day')).toEqual(['Today']);
    await shot(bob, 'phone-thread');
    await shot(alice, 'desktop-thread');
    expect(dialogs).toEqual([]);
  });

  it('groups through the UI: create, add, rename, remove, leave, with info lines', {
    timeout: 120_000,
  }, async () => {
    carol = await signIn(await throughRelay(`ws://127.0.0.1:${proxy.port}/ws`), 'carol');

    // alice creates "Trip" with bob.
    await alice.locator('#new-group').click();
    await alice.locator('#group-title').fill('Trip');
    await alice.locator('#group-members').fill('bob');
    await alice.locator('#new-group-form button[type=submit]').click();
    await expect.poll(() => alice.locator('#thread-title').textContent(), T).toBe('# Trip');
    await expect
      .poll(async () => (await texts(alice, '.info')).sort(), T)
      .toEqual(['Group created', 'alice joined group on creation', 'bob joined group on creation']);
    // Info lines are not bubbles.
    expect(await alice.locator('#messages .message').count()).toBe(0);
    const groupId = await alice.locator('#conversations li.active').getAttribute('data-id');
    expect(groupId).toMatch(/^group-/);
    await bob.locator('.back').click();
    await expect.poll(() => rowByName(bob, '# Trip').count(), T).toBe(1);

    // alice adds carol in the group panel; carol gets the group with its history.
    await alice.locator('#group-info').click();
    await expect
      .poll(() => alice.locator('#group-members-list li').evaluateAll((l) => l.map((e) => e.dataset.member)))
      .toEqual(['alice', 'bob']);
    await alice.locator('#add-member').fill('carol');
    await alice.locator('#add-member').press('Enter');
    await expect
      .poll(
        () => alice.locator('#group-members-list li').evaluateAll((l) => l.map((e) => e.dataset.member)),
        T,
      )
      .toEqual(['alice', 'bob', 'carol']);
    await shot(alice, 'desktop-group-panel');

    // ...and renames it: everyone sees the new name.
    await alice.locator('#group-name').fill('Trip to Rome');
    await alice.locator('#rename-form button[type=submit]').click();
    await alice.locator('#group-panel .close').click();
    await expect.poll(() => alice.locator('#thread-title').textContent(), T).toBe('# Trip to Rome');
    await expect.poll(() => rowByName(bob, '# Trip to Rome').count(), T).toBe(1);
    await expect.poll(() => rowByName(carol, '# Trip to Rome').count(), T).toBe(1);
    await expect.poll(() => texts(alice, '.info'), T).toContain('carol added to group');

    // A group message shows its sender to the others.
    await rowByName(carol, '# Trip to Rome').click();
    await say(carol, 'ciao a tutti');
    await expect.poll(() => texts(alice, '.message.theirs .sender'), T).toEqual(['carol']);
    await rowByName(bob, '# Trip to Rome').click();
    await expect.poll(() => texts(bob, '.message.theirs .text'), T).toEqual(['ciao a tutti']);
    await expect
      .poll(() => bob.locator('#thread-subtitle').textContent(), T)
      .toBe('3 members: alice, bob, carol');
    await shot(bob, 'phone-group');
    await shot(alice, 'desktop-group');

    // alice removes bob: bob can read but no longer write.
    await alice.locator('#group-info').click();
    await alice.locator('#group-members-list li[data-member="bob"] .remove').click();
    await expect
      .poll(
        () => alice.locator('#group-members-list li').evaluateAll((l) => l.map((e) => e.dataset.member)),
        T,
      )
      .toEqual(['alice', 'carol']);
    await alice.locator('#group-panel .close').click();
    await expect.poll(() => bob.locator('#not-member').isVisible(), T).toBe(true);
    expect(await bob.locator('#composer').isVisible()).toBe(false);
    await expect.poll(() => texts(alice, '.info'), T).toContain('bob removed from group');

    // carol leaves by herself.
    await carol.locator('#group-info').click();
    await carol.locator('#leave-group').click();
    await expect.poll(() => carol.locator('#not-member').isVisible(), T).toBe(true);
    await expect.poll(() => texts(alice, '.info'), T).toContain('carol removed from group');
    await expect.poll(() => alice.locator('#thread-subtitle').textContent(), T).toBe('1 member: alice');
    expect(await texts(alice, '.message .text')).toEqual(['ciao a tutti']);
    expect(dialogs).toEqual([]);
  });

  it('a message sent during an outage is marked, retried with a click, and delivered once', {
    timeout: 60_000,
  }, async () => {
    await carol.locator('#new-chat').fill('alice');
    await carol.locator('#new-chat').press('Enter');
    proxy.cut();
    await expect.poll(() => carol.locator('#state').textContent(), T).not.toBe('connected');
    await say(carol, 'are you there?');
    const sent = carol.locator('#messages .message.mine').last();
    await expect.poll(() => mark(sent), T).toBe('not sent');
    expect(await sent.locator('.retry').isVisible()).toBe(true);
    await shot(carol, 'desktop-not-sent');

    proxy.restore();
    await sent.locator('.retry').click();
    await expect.poll(() => carol.locator('#state').textContent(), T).toBe('connected');
    await expect
      .poll(async () => ['sent', 'delivered', 'read'].includes((await mark(sent)) ?? ''), T)
      .toBe(true);
    expect(await sent.locator('.retry').isVisible()).toBe(false);
    await expect.poll(() => row(alice, 'carol').locator('.last').textContent(), T).toBe('are you there?');
    await row(alice, 'carol').click();
    await expect.poll(() => texts(alice, '.message.theirs .text'), T).toEqual(['are you there?']);
    // Still exactly one after a moment (a retry must not duplicate it).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await texts(alice, '.message.theirs .text')).toEqual(['are you there?']);
  });

  it('scrolls back through history page by page, keeping the position; archives and unarchives', {
    timeout: 60_000,
  }, async () => {
    await row(alice, 'dave').click();
    const messages = alice.locator('#messages .message');
    await expect.poll(() => messages.count(), T).toBe(30);
    expect(await messages.last().locator('.text').textContent()).toBe(`older message ${SEEDED}`);
    for (const expected of [60, SEEDED]) {
      // The message on top stays where it was while the older page goes above it.
      const topId = await messages.first().getAttribute('data-id');
      const top = alice.locator(`#messages [data-id="${topId}"]`);
      // Scrolled to the top, where it is just before the older page (loaded on that scroll) arrives.
      const before = await alice.locator('#messages').evaluate((el, id) => {
        el.scrollTop = 0;
        return el.querySelector(`[data-id="${id}"]`)!.getBoundingClientRect().top;
      }, topId);
      await expect.poll(() => messages.count(), T).toBe(expected);
      const after = await top.evaluate((el) => el.getBoundingClientRect().top);
      expect(Math.abs(after - before)).toBeLessThan(5);
    }
    expect(await texts(alice, '.message .text')).toEqual(
      Array.from({ length: SEEDED }, (_, i) =>
        i === 4 ? 'older message 5 about pineapples' : `older message ${i + 1}`,
      ),
    );
    expect(await texts(alice, '.day')).toEqual(['Today']);

    // Archive: out of the list, into the archived view, and back.
    await alice.locator('#archive-toggle').click();
    await expect.poll(() => row(alice, 'dave').count(), T).toBe(0);
    await alice.locator('#show-archived').click();
    await expect.poll(() => row(alice, 'dave').count(), T).toBe(1);
    expect(await alice.locator('#conversations li.conversation').count()).toBe(1);
    await shot(alice, 'desktop-archived');
    await alice.locator('#archive-toggle').click();
    await expect.poll(() => row(alice, 'dave').count(), T).toBe(0);
    await alice.locator('#show-archived').click();
    await expect.poll(() => row(alice, 'dave').count(), T).toBe(1);
    // The server agrees: not archived.
    await alice.reload();
    await expect.poll(() => row(alice, 'dave').count(), T).toBe(1);
  });

  it('search opens the thread at the message; a reload keeps the history', { timeout: 60_000 }, async () => {
    // alice finds an old message of dave's, three pages back.
    await alice.locator('#search').fill('pineapples');
    await alice.locator('#search').press('Enter');
    const results = alice.locator('#search-results .result');
    await expect.poll(() => results.count(), T).toBe(1);
    expect(await results.locator('mark').allTextContents()).toEqual(['pineapples']);
    await results.first().click();
    await expect.poll(() => alice.locator('#thread-title').textContent(), T).toBe('dave');
    const flash = alice.locator('#messages .flash');
    await expect.poll(() => flash.locator('.text').textContent(), T).toBe('older message 5 about pineapples');
    expect(await flash.isVisible()).toBe(true);

    // bob searches on his phone.
    await bob.locator('.back').click();
    await bob.locator('#search').fill('hello');
    await bob.locator('#search').press('Enter');
    const bobResults = bob.locator('#search-results .result');
    await expect.poll(() => bobResults.count(), T).toBe(1);
    expect(await bob.locator('#search-results mark').first().textContent()).toBe('hello');
    await shot(bob, 'phone-search');
    await bobResults.first().click();
    await expect.poll(() => bob.locator('#thread-title').textContent(), T).toContain('alice');

    // A reload keeps the session, the list and the history.
    await bob.reload();
    await expect.poll(() => bob.locator('#me').textContent(), T).toBe('bob');
    await expect.poll(() => bob.locator('#conversations li.conversation').count(), T).toBe(2);
    await row(bob, 'alice').click();
    await expect
      .poll(() => texts(bob, '.message .text'), T)
      .toEqual(['hello bob', 'are you the', ATTACK, 'yes, what is it?']);
    expect(dialogs).toEqual([]);
  });

  it('day separators say Yesterday and then the date as days go by', { timeout: 60_000 }, async () => {
    const later = await newPage(DESKTOP);
    await later.goto(appUrl());
    // Tomorrow, 01:00, in the browser's own time zone.
    const tomorrow = await later.evaluate(() => {
      const d = new Date();
      d.setHours(25, 0, 0, 0);
      return d.getTime();
    });
    await later.clock.setFixedTime(tomorrow);
    // dave, whose messages to alice were all written today.
    await signIn(later, 'dave');
    await row(later, 'alice').click();
    await expect.poll(() => texts(later, '.day'), T).toEqual(['Yesterday']);
    await later.clock.setFixedTime(tomorrow + 2 * 86_400_000);
    await later.reload();
    await row(later, 'alice').click();
    await expect.poll(() => texts(later, '.day'), T).not.toEqual(['Yesterday']);
    // The messages' day written out, with the year only when it is not the (pretended) current one.
    const expected = await later.evaluate((today) => {
      const day = new Date(today);
      const year = day.getFullYear() === new Date().getFullYear() ? {} : { year: 'numeric' as const };
      return day.toLocaleDateString([], { weekday: 'long', day: 'numeric', month: 'long', ...year });
    }, Date.now());
    expect(await texts(later, '.day')).toEqual([expected]);
    expect(expected).toMatch(/^[A-Z][a-z]+day, [A-Z][a-z]+ \d{1,2}(, \d{4})?$/);
    await later.context().close();
  });

  it('widget: one script tag on a host page opens a conversation with a token', {
    timeout: 60_000,
  }, async () => {
    const host = await newPage(PHONE);
    const token = await stack.token('erin');
    const options = { token, with: 'alice', title: 'Support', app: stack.app, server: `${http}/` };
    // The host site: a page of its own, on another origin, with one script tag and the token.
    const page = `<!doctype html><html><head><meta name="viewport" content="width=device-width"></head>
<body><h1>A shop</h1><script src="${http}/widget.js"></script>
<script>MercurioWidget.init(${JSON.stringify(options)});</script></body></html>`;
    const site = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    try {
      await host.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
      await host.locator('#mercurio-widget-launcher').click();
      const widget = host.frameLocator('#mercurio-widget-frame');
      await expect.poll(() => widget.locator('#thread-title').textContent(), T).toBe('Support');
      await expect.poll(() => widget.locator('#thread-subtitle').textContent(), T).toBe('online');
      await expect.poll(() => widget.locator('#state').textContent(), T).toBe('connected');
      await widget.locator('#composer').fill('I need help with my order');
      await widget.locator('#composer').press('Enter');
      await expect
        .poll(() => row(alice, 'erin').locator('.last').textContent(), T)
        .toBe('I need help with my order');
      await row(alice, 'erin').click();
      await say(alice, 'happy to help');
      await expect
        .poll(() => widget.locator('#messages .message.theirs .text').allTextContents(), T)
        .toEqual(['happy to help']);
      await expect.poll(() => mark(alice.locator('#messages .message.mine').last()), T).toBe('read');
      await shot(host, 'phone-widget');

      // Closed, the widget counts what comes in on the launcher and reads nothing until opened.
      const launcher = host.locator('#mercurio-widget-launcher');
      await launcher.click();
      await say(alice, 'anything else?');
      await expect.poll(() => launcher.locator('span').textContent(), T).toBe('1');
      const last = alice.locator('#messages .message.mine').last();
      await expect.poll(() => mark(last), T).toBe('sent');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await mark(last)).toBe('sent');
      await launcher.click();
      await expect.poll(() => mark(last), T).toBe('read');
      expect(await launcher.locator('span').isVisible()).toBe(false);
      expect(dialogs).toEqual([]);
    } finally {
      site.close();
    }
  });

  it('the SDK browser bundle works in a page without a bundler', { timeout: 60_000 }, async () => {
    const bundle = readFileSync(SDK_BUNDLE);
    const token = await stack.token('gina');
    const options = { endpoint: ws, apiEndpoint: `${http}/api`, appId: stack.app, token };
    const page = `<!doctype html><html><body><p id="out">loading</p><script type="module">
import { connect } from './mercurio-sdk.js';
const client = await connect(${JSON.stringify(options)});
await client.sendMessage('alice', 'sent from the browser bundle');
document.getElementById('out').textContent = client.state;
</script></body></html>`;
    const site = createServer((request, response) => {
      if (request.url === '/mercurio-sdk.js')
        response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      else response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    try {
      const host = await newPage(DESKTOP);
      await host.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
      await expect.poll(() => host.locator('#out').textContent(), T).toBe('connected');
      await expect
        .poll(() => row(alice, 'gina').locator('.last').textContent(), T)
        .toBe('sent from the browser bundle');
    } finally {
      site.close();
    }
  });

  it('signs in with a token from the host application in the address (#token=)', async () => {
    const page = await newPage(DESKTOP);
    await page.goto(`${appUrl()}#token=${await stack.token('frank')}`);
    await expect.poll(() => page.locator('#me').textContent(), T).toBe('frank');
    await expect.poll(() => page.locator('#state').textContent(), T).toBe('connected');
    // The token leaves the address at once (no history entry, no bookmark), and a reload stays signed in.
    expect(new URL(page.url()).hash).toBe('');
    await page.reload();
    await expect.poll(() => page.locator('#me').textContent(), T).toBe('frank');
    // No user name form: that is the development sign-in.
    expect(await page.locator('#login-form').count()).toBe(0);
    await page.context().close();
  });

  it('presence goes offline when a browser context closes', { timeout: 60_000 }, async () => {
    await row(alice, 'bob').click();
    await expect
      .poll(() => row(alice, 'bob').locator('.dot').getAttribute('data-presence'), T)
      .toBe('online');
    await bobContext.close();
    await expect
      .poll(() => row(alice, 'bob').locator('.dot').getAttribute('data-presence'), T)
      .toBe('offline');
    await expect
      .poll(() => alice.locator('#thread-subtitle').textContent(), T)
      .toMatch(/^last seen today at /);
    expect(await alice.locator('#thread-title .dot').getAttribute('data-presence')).toBe('offline');
  });
});
