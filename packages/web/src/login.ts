import type { AppConfig } from './config.js';
import { h } from './dom.js';

/**
 * The development sign-in: pick a user name (the server's dev login issues a token for it; it
 * exists only with MERCURIO_DEV). In production the host application supplies the token instead.
 */
export function showLogin(
  root: HTMLElement,
  config: AppConfig,
  signIn: (user: string) => Promise<void>,
  error?: string,
): void {
  const input = h('input', {
    id: 'login-user',
    placeholder: 'your user name, e.g. alice',
    autocomplete: 'username',
    required: 'true',
    maxlength: '64',
  });
  const status = h('p', { class: 'login-error', role: 'alert' }, error ?? '');
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'login-card', id: 'login-form' },
    h('h1', {}, 'Mercurio'),
    h('p', { class: 'muted' }, `Development sign-in to app “${config.app}”: pick any user name.`),
    input,
    button,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const user = input.value.trim();
    if (!user) return;
    button.disabled = true;
    status.textContent = '';
    void signIn(user).catch((e: unknown) => {
      button.disabled = false;
      status.textContent = e instanceof Error ? e.message : String(e);
    });
  });
  root.replaceChildren(h('main', { class: 'login' }, form));
  input.focus();
}

/** A full-page message (e.g. the widget waiting for its token, or a refused token). */
export function showNotice(root: HTMLElement, title: string, text: string): void {
  root.replaceChildren(
    h(
      'main',
      { class: 'login' },
      h('div', { class: 'login-card', id: 'notice' }, h('h1', {}, title), h('p', { class: 'muted' }, text)),
    ),
  );
}
