import { conversationKindOf, readClaims } from '@mercurio/sdk';
import type { AppConfig } from './config.js';
import { h } from './dom.js';
import { showNotice } from './login.js';
import { connectUser, hostTokens } from './session.js';
import { ChatState, keyOf, refOf } from './state.js';
import { ThreadView } from './thread.js';
import { Wiring } from './wire.js';

/**
 * Widget mode (`?widget=1&with=<id>`, in the iframe that loader.ts puts on a host page): one
 * conversation, the same thread as the full app, signed in with the token the host page posts.
 * Tells the host page the unread count (`{type: 'mercurio:unread', count}`) for its launcher badge.
 */
export async function startWidget(root: HTMLElement, config: AppConfig): Promise<void> {
  const widget = config.widget!;
  // The host page says when the chat is open (from the start, before the thread exists): only
  // then are messages read.
  let offscreen = false;
  let onShown: (shown: boolean) => void = (shown) => {
    offscreen = !shown;
  };
  window.addEventListener('message', (event: MessageEvent) => {
    const data = event.data as { type?: unknown; shown?: unknown } | null;
    if (event.source === window.parent && data?.type === 'mercurio:shown') onShown(data.shown === true);
  });
  showNotice(root, widget.title, 'Connecting…');
  const tokens = hostTokens();
  const token = await tokens.first;
  const claims = readClaims(token);
  const user = claims.sub;
  if (!user) {
    showNotice(root, widget.title, 'The host page gave a token without a user (sub).');
    return;
  }
  const app = new URLSearchParams(location.search).get('app') ?? claims.app_id ?? config.app;
  const { client, files } = await connectUser({ ...config, app }, token, user, tokens.refresh);
  const state = new ChatState(user);
  // The widget's one conversation, of the kind the host page said (or a group-form id is).
  const ref = refOf(conversationKindOf(widget.group ? 'group' : undefined, widget.with), widget.with);
  state.upsert(ref, {});
  const thread = new ThreadView(
    client,
    state,
    { back: () => {}, groupInfo: undefined, archive: undefined },
    { back: false, title: widget.title, files },
  );
  const wiring = new Wiring(client, state, thread);
  const connection = h('span', { class: 'state', id: 'state' }, 'connected');
  client.on('state', ({ new: now }) => {
    connection.textContent = now;
    connection.dataset.state = now;
  });
  root.replaceChildren(
    h('div', { class: 'widget' }, thread.element, h('footer', { class: 'powered' }, connection)),
  );
  let unread = -1;
  state.subscribe(() => {
    const count = state.conversations.get(keyOf(ref))?.unread ?? 0;
    if (count === unread) return;
    unread = count;
    window.parent.postMessage({ type: 'mercurio:unread', count }, '*');
  });
  thread.offscreen = offscreen;
  onShown = (shown) => {
    thread.offscreen = !shown;
    if (shown) thread.markRead();
  };
  state.current = keyOf(ref);
  wiring.need(ref.id, ref.group);
  await thread.show(ref);
}
