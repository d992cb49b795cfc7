import { type MercurioClient, readClaims } from '@mercurio/sdk';
import { ChatApp } from './app.js';
import { readConfig } from './config.js';
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
const config = readConfig(location);
const root = document.getElementById('app')!;
const USER_KEY = `mercurio:${config.app}:user`;

function onUnauthorized(client: MercurioClient, then: () => void): void {
  client.on('state', ({ new: now }) => {
    if (now === 'unauthorized') then();
  });
}

async function devSignIn(user: string): Promise<void> {
  const token = await devLogin(config, user);
  const client = await connectUser(config, token, user, () => devLogin(config, user));
  localStorage.setItem(USER_KEY, user);
  new ChatApp(client, async () => {
    localStorage.removeItem(USER_KEY);
    await client.close().catch(() => {});
    startDev();
  }).mount(root);
}

function startDev(error?: string): void {
  showLogin(root, config, devSignIn, error);
}

async function tokenSignIn(token: string): Promise<void> {
  const claims = readClaims(token);
  const app = new URLSearchParams(location.search).get('app') ?? claims.app_id ?? config.app;
  if (!claims.sub) throw new Error('the token has no user (sub)');
  const client = await connectUser({ ...config, app }, token, claims.sub, undefined);
  const ended = (text: string) => {
    forgetAddressToken(config);
    showNotice(root, 'Signed out', text);
  };
  onUnauthorized(client, () => ended('Your session ended: open the chat again from your application.'));
  new ChatApp(client, async () => {
    await client.close().catch(() => {});
    ended('You signed out.');
  }).mount(root);
}

const fail = (e: unknown) => (e instanceof Error ? e.message : String(e));

if (config.widget) {
  void startWidget(root, config).catch((e: unknown) => showNotice(root, 'Chat unavailable', fail(e)));
} else {
  const token = addressToken(config);
  const saved = localStorage.getItem(USER_KEY);
  if (token) {
    void tokenSignIn(token).catch((e: unknown) => {
      forgetAddressToken(config);
      showNotice(root, 'Could not sign in', fail(e));
    });
  } else if (saved) {
    void devSignIn(saved).catch((e: unknown) => {
      if (e instanceof DevLoginUnavailable) localStorage.removeItem(USER_KEY);
      startDev(fail(e));
    });
  } else startDev();
}
