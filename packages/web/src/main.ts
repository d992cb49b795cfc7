import { type MercurioClient, readClaims } from '@mercurio/sdk';
import { ChatApp } from './app.js';
import { type AppConfig, readConfig } from './config.js';
import { showLogin, showNotice } from './login.js';
import { addressToken, connectUser, DevLoginUnavailable, devLogin, forgetAddressToken } from './session.js';
import { startWidget } from './widget.js';

/**
 * The Mercurio chat app's entry point. Three ways in (see session.ts):
 * - widget mode (`?widget=1…`): one conversation, token from the host page;
 * - a token from the host application in the address (`#token=…`);
 * - otherwise the development sign-in (pick a user name), when the server has MERCURIO_DEV.
 *
 * Every piece of user data (names, texts, snippets) reaches the page through text nodes (dom.ts),
 * never as HTML.
 */
const root = document.getElementById('app')!;

function onUnauthorized(client: MercurioClient, then: () => void): void {
  client.on('state', ({ new: now }) => {
    if (now === 'unauthorized') then();
  });
}

/** Where the development sign-in remembers its user name across reloads. */
const userKey = (config: AppConfig) => `mercurio:${config.app}:user`;

async function devSignIn(config: AppConfig, user: string): Promise<void> {
  const token = await devLogin(config, user);
  const { client, files } = await connectUser(config, token, user, () => devLogin(config, user));
  localStorage.setItem(userKey(config), user);
  new ChatApp(client, files, async () => {
    localStorage.removeItem(userKey(config));
    await client.close().catch(() => {});
    startDev(config);
  }).mount(root);
}

function startDev(config: AppConfig, error?: string): void {
  showLogin(root, config, (user) => devSignIn(config, user), error);
}

async function tokenSignIn(config: AppConfig, token: string): Promise<void> {
  const claims = readClaims(token);
  const app = new URLSearchParams(location.search).get('app') ?? claims.app_id ?? config.app;
  if (!claims.sub) throw new Error('the token has no user (sub)');
  const { client, files } = await connectUser({ ...config, app }, token, claims.sub, undefined);
  const ended = (text: string) => {
    forgetAddressToken(config);
    showNotice(root, 'Signed out', text);
  };
  onUnauthorized(client, () => ended('Your session ended: open the chat again from your application.'));
  new ChatApp(client, files, async () => {
    await client.close().catch(() => {});
    ended('You signed out.');
  }).mount(root);
}

const fail = (e: unknown) => (e instanceof Error ? e.message : String(e));

function start(config: AppConfig): void {
  if (config.widget) {
    void startWidget(root, config).catch((e: unknown) => showNotice(root, 'Chat unavailable', fail(e)));
    return;
  }
  const token = addressToken(config);
  const saved = localStorage.getItem(userKey(config));
  if (token) {
    void tokenSignIn(config, token).catch((e: unknown) => {
      forgetAddressToken(config);
      showNotice(root, 'Could not sign in', fail(e));
    });
  } else if (saved) {
    void devSignIn(config, saved).catch((e: unknown) => {
      if (e instanceof DevLoginUnavailable) localStorage.removeItem(userKey(config));
      startDev(config, fail(e));
    });
  } else startDev(config);
}

// The endpoints come from the server that served this page (config.ts), never from the address.
void readConfig(location, document.baseURI).then(start, (e: unknown) =>
  showNotice(root, 'Chat unavailable', fail(e)),
);
