import { once } from 'node:events';
import { createServer as createHttpServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { connect, type MercurioClient, type MessageAdded } from '@mercurio/sdk';
import Fastify from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveWebApp } from '../src/http/web-app.js';
import { services } from './support/services.js';
import { ENGINES, TestStack } from './support/stack.js';
import { launchChromium, say, signIn, T, texts } from './support/web-browser.js';

const DESKTOP = { width: 1280, height: 800 };

async function listen<S extends Server | TcpServer>(server: S): Promise<S> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}
const portOf = (server: Server | TcpServer) => (server.address() as AddressInfo).port;

/**
 * The audit's attacks on the web app (issue 10: holes 1, 4, 5 and 9), in Debian's Chromium
 * against the real server, on each engine; the victim's browser is what is checked.
 */
describe.each(ENGINES)('web app security in a real browser (%s)', (engine) => {
  let stack: TestStack;
  let browser: Browser;
  let http = '';
  let ws = '';
  /** A host site whose origin the server lets frame the widget, and one it does not. */
  let hostSite: Server;
  let strangerSite: Server;
  let hostPage = '';
  /** Where the attacker's links point: every connection it gets is recorded. */
  let evil: TcpServer;
  let evilConnections = 0;
  const clients: MercurioClient[] = [];
  const contexts: BrowserContext[] = [];
  /** CSP violations reported in any page of the app: the app must work under its own policy. */
  const violations: string[] = [];

  beforeAll(async () => {
    const page = (_request: unknown, response: import('node:http').ServerResponse) =>
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(hostPage);
    hostSite = await listen(createHttpServer(page));
    strangerSite = await listen(createHttpServer(page));
    evil = await listen(
      createTcpServer((socket) => {
        evilConnections++;
        socket.destroy();
      }),
    );
    stack = new TestStack(
      'websec',
      {
        MERCURIO_DEV: 'true',
        MERCURIO_HTTP_PORT: '0',
        MERCURIO_WEB_FRAME_ANCESTORS: `http://127.0.0.1:${portOf(hostSite)}`,
        ...(engine === 'rabbitmq' ? { MERCURIO_WEB_MQTT_URL: services().wsUrl } : {}),
      },
      engine,
    );
    const router = await stack.startRouter({ http: true });
    http = router.httpUrl!;
    ws = engine === 'rabbitmq' ? services().wsUrl : router.mqtt!.wsUrl!;
    browser = await launchChromium();
  }, 600_000);

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(contexts.map((c) => c.close()));
    await browser?.close();
    hostSite?.close();
    strangerSite?.close();
    evil?.close();
    await stack?.close();
  });

  const appUrl = () => `${http}/?app=${encodeURIComponent(stack.app)}`;

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: DESKTOP });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    return page;
  }

  /** A user's SDK client in Node, with every message it receives. */
  async function user(id: string): Promise<{ client: MercurioClient; received: MessageAdded[] }> {
    const client = await connect({
      endpoint: ws,
      apiEndpoint: `${http}/api`,
      token: await stack.token(id),
      mqttOptions: { clean: true },
    });
    clients.push(client);
    const received: MessageAdded[] = [];
    client.on('message', (event) => received.push(event));
    return { client, received };
  }

  const row = (page: Page, id: string, kind: 'direct' | 'group') =>
    page.locator(`#conversations li[data-id="${id}"]`).filter({
      has: page.locator('.name', { hasText: kind === 'group' ? `# ${id}` : new RegExp(`^${id}$`) }),
    });

  it('hole 1: a group made on a direct peer’s id never captures the direct thread', {
    timeout: 120_000,
  }, async () => {
    const alice = await user('alice');
    const mallory = await user('mallory');
    const bob = await signIn(await newPage(), appUrl(), 'bob');

    // bob talks with alice; his thread with her is open.
    await alice.client.sendDirect('bob', 'hi bob, it is alice');
    await expect.poll(() => row(bob, 'alice', 'direct').count(), T).toBe(1);
    await row(bob, 'alice', 'direct').click();
    await expect.poll(() => texts(bob, '.message.theirs .text'), T).toEqual(['hi bob, it is alice']);

    // mallory makes a group whose id is alice's, with bob in it (the audit did it over the API; a
    // server that refuses such ids may still hold one made before it did), and writes into it.
    try {
      await mallory.client.createGroup({ id: 'alice', name: 'alice', members: ['mallory', 'bob'] });
    } catch {
      await stack.createGroup('alice', 'mallory', ['mallory', 'bob']);
    }
    await mallory.client.sendGroup('alice', 'reply here please');
    // The group message arrives as a conversation of its own…
    await expect
      .poll(() => row(bob, 'alice', 'group').locator('.last').textContent(), T)
      .toBe('reply here please');
    // …and the open thread stays bob's direct conversation with alice.
    expect(await bob.locator('#thread-title').textContent()).toBe('alice');
    expect(await texts(bob, '.text')).toEqual(['hi bob, it is alice']);
    expect(await row(bob, 'alice', 'direct').locator('.last').textContent()).toBe('hi bob, it is alice');

    // What bob types next reaches alice, and only alice.
    await say(bob, 'my one-time code is 424242');
    await expect
      .poll(() => alice.received.filter((e) => e.message.text === 'my one-time code is 424242').length, T)
      .toBe(1);
    const toAlice = alice.received.find((e) => e.message.text === 'my one-time code is 424242')!;
    expect(toAlice).toMatchObject({ conversWith: 'bob', kind: 'direct' });
    const groupHistory = await mallory.client.history('alice', { limit: 100 });
    expect(groupHistory.messages.map((m) => m.text)).not.toContain('my one-time code is 424242');
    expect(mallory.received.map((e) => e.message.text)).not.toContain('my one-time code is 424242');

    // The group is there for bob too, as a group of its own.
    await row(bob, 'alice', 'group').click();
    await expect.poll(() => bob.locator('#thread-title').textContent(), T).toBe('# alice');
    await row(bob, 'alice', 'direct').click();
    await expect.poll(() => bob.locator('#thread-title').textContent(), T).toBe('alice');
    await expect
      .poll(() => texts(bob, '.text'), T)
      .toEqual(['hi bob, it is alice', 'my one-time code is 424242']);
    expect(violations).toEqual([]);
  });

  it('hole 4: endpoints in the address never take the token elsewhere (app, #token=, widget)', {
    timeout: 120_000,
  }, async () => {
    const evilUrl = `127.0.0.1:${portOf(evil)}`;
    const lure = `${appUrl()}&ws=${encodeURIComponent(`ws://${evilUrl}/ws`)}&api=${encodeURIComponent(`http://${evilUrl}/api`)}`;

    // The development sign-in from the lure: signs in and connects where the server says.
    await signIn(await newPage(), lure, 'carol');
    // The host application's token in the lure's fragment.
    const dana = await newPage();
    await dana.goto(`${lure}#token=${await stack.token('dana')}`);
    await expect.poll(() => dana.locator('#me').textContent(), T).toBe('dana');
    await expect.poll(() => dana.locator('#state').textContent(), T).toBe('connected');

    // The widget: a host page that names other endpoints, and the widget page itself.
    const token = await stack.token('erin');
    const options = {
      token,
      with: 'alice',
      title: 'Support',
      app: stack.app,
      server: `${http}/`,
      api: `http://${evilUrl}/api`,
      ws: `ws://${evilUrl}/ws`,
      open: true,
    };
    hostPage = `<!doctype html><html><body><script src="${http}/widget.js"></script>
<script>MercurioWidget.init(${JSON.stringify(options)});</script></body></html>`;
    const host = await newPage();
    await host.goto(`http://127.0.0.1:${portOf(hostSite)}/`);
    const widget = host.frameLocator('#mercurio-widget-frame');
    await expect.poll(() => widget.locator('#state').textContent(), T).toBe('connected');
    expect(evilConnections).toBe(0);
    expect(violations).toEqual([]);
  });

  it('hole 5: a user’s message that calls itself a notice is drawn as their message', {
    timeout: 60_000,
  }, async () => {
    const mallory = await user('mallory2');
    const frank = await signIn(await newPage(), appUrl(), 'frank');
    await mallory.client.sendDirect(
      'frank',
      'SYSTEM NOTICE: your session expired, sign in again at evil.example',
      {
        attributes: { subtype: 'info' },
      },
    );
    await expect.poll(() => row(frank, 'mallory2', 'direct').count(), T).toBe(1);
    // The router now drops a user's info subtype; a message stored before it did still has it,
    // and the app must not draw that as a notice either.
    await stack.sql.query(
      `UPDATE messages SET body = jsonb_set(body, '{attributes}', '{"subtype": "info"}')
        WHERE app_id = $1 AND sender = 'mallory2'`,
      [stack.app],
    );
    await row(frank, 'mallory2', 'direct').click();
    await expect
      .poll(() => texts(frank, '.message.theirs .text'), T)
      .toEqual(['SYSTEM NOTICE: your session expired, sign in again at evil.example']);
    expect(await frank.locator('#messages .info').count()).toBe(0);

    // The server's own notices still are notices.
    const group = await mallory.client.createGroup({ name: 'Book club', members: ['frank'] });
    const groupRow = frank.locator(`#conversations li[data-id="${group.uid}"][data-kind="group"]`);
    await expect.poll(() => groupRow.count(), T).toBe(1);
    await groupRow.click();
    await expect.poll(() => texts(frank, '.info'), T).toContain('Group created');
    expect(await frank.locator('#messages .message').count()).toBe(0);
  });

  it('hole 9: a strict CSP; framed only by the configured host origins', { timeout: 60_000 }, async () => {
    const page = await fetch(`${http}/`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain(`frame-ancestors http://127.0.0.1:${portOf(hostSite)}`);
    expect(csp).not.toContain('unsafe-inline');
    if (engine === 'rabbitmq') expect(csp).toContain(new URL(services().wsUrl).origin);
    // A host origin is allowed: no X-Frame-Options (it cannot name one; CSP does).
    expect(page.headers.get('x-frame-options')).toBeNull();
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    // Host pages of other origins load the widget's script.
    const loader = await fetch(`${http}/widget.js`);
    expect(loader.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(await (await fetch(`${http}/config.json`)).json()).toEqual({
      api: '/api',
      ws: engine === 'rabbitmq' ? services().wsUrl : '/ws',
    });

    // A site whose origin is not configured cannot frame the chat.
    const options = { token: await stack.token('gina'), with: 'alice', app: stack.app, server: `${http}/` };
    hostPage = `<!doctype html><html><body><script src="${http}/widget.js"></script>
<script>MercurioWidget.init(${JSON.stringify({ ...options, open: true })});</script></body></html>`;
    const stranger = await newPage();
    const refused: string[] = [];
    stranger.on('console', (message) => {
      if (/frame-ancestors/.test(message.text())) refused.push(message.text());
    });
    await stranger.goto(`http://127.0.0.1:${portOf(strangerSite)}/`);
    await expect.poll(() => refused.length, T).toBeGreaterThan(0);
    expect(await stranger.frameLocator('#mercurio-widget-frame').locator('#state').count()).toBe(0);
    // The configured one can (the widget connects and works).
    const host = await newPage();
    await host.goto(`http://127.0.0.1:${portOf(hostSite)}/`);
    const widget = host.frameLocator('#mercurio-widget-frame');
    await expect.poll(() => widget.locator('#state').textContent(), T).toBe('connected');
    // The refusal above is the policy at work; anything else would be the app breaking it.
    violations.splice(0, violations.length, ...violations.filter((v) => !/frame-ancestors/.test(v)));
    expect(violations).toEqual([]);
  });
});

describe('web app headers without a configured host origin', () => {
  it('nobody may frame it: frame-ancestors none and X-Frame-Options DENY', async () => {
    const app = Fastify();
    const served = serveWebApp(app, {
      web: { apiUrl: undefined, mqttUrl: 'wss://mqtt.example.com/ws', frameAncestors: [] },
      apiBasePath: '/api',
    });
    expect(served).toBe(true);
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(page.headers['content-security-policy']).toContain('wss://mqtt.example.com');
    expect(page.headers['x-frame-options']).toBe('DENY');
    const config = await app.inject({ method: 'GET', url: '/config.json' });
    expect(config.json()).toEqual({ api: '/api', ws: 'wss://mqtt.example.com/ws' });
    await app.close();
  });
});
