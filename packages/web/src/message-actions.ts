import type { ChatMessage, MercurioClient } from '@mercurio/sdk';
import { h } from './dom.js';
import { mentionsIn } from './mentions.js';
import type { ConversationRef } from './state.js';

/** What the actions need of the open thread (thread.ts's ThreadView). */
export interface ActionsThread {
  readonly current: ConversationRef | undefined;
  message(messageId: string): ChatMessage | undefined;
  /** Members one may mention here (never the user). */
  mentionable(): string[];
  /** Starts a reply to this message in the composer. */
  replyTo(message: ChatMessage): void;
  /** Scrolls to a message of the thread (loading older pages until it is there). */
  reveal(messageId: string, seq: number): Promise<void>;
}

/** How long an action's error stays on its message. */
const ERROR_SHOWN_MS = 6000;

/**
 * What the user does to a message already sent, from its row (message-view.ts draws it):
 * the actions button opens reply / react / edit / delete; the picker and each reaction under a
 * message toggle the user's reaction; Edit turns the text into a field in place (Enter saves,
 * Escape cancels); a reply's quote scrolls to the quoted message. The server's answer comes
 * back as a `messageChanged` event, which re-draws the row; a refusal shows under the message.
 */
export class MessageActions {
  constructor(
    readonly client: MercurioClient,
    readonly thread: ActionsThread,
    readonly messages: HTMLElement,
  ) {
    messages.addEventListener('click', (event) => this.#click(event));
    messages.addEventListener('keydown', (event) => {
      // Escape closes an open menu and puts the focus back on its button.
      if (event.key !== 'Escape') return;
      const row = (event.target as Element).closest<HTMLElement>('.message');
      if (row && this.#closeMenus(row)) row.querySelector<HTMLElement>('.more')?.focus();
    });
  }

  #click(event: Event): void {
    const target = event.target as Element;
    const row = target.closest<HTMLElement>('.message');
    const id = row?.dataset.id;
    const ref = this.thread.current;
    if (!row || !id || !ref) return;
    const quote = target.closest<HTMLElement>('.quote');
    if (quote?.dataset.quoteId) {
      void this.thread.reveal(quote.dataset.quoteId, Number(quote.dataset.quoteSeq) || 0);
      return;
    }
    if (target.closest('.more')) {
      this.#toggleMenu(row);
      return;
    }
    const reaction = target.closest<HTMLElement>('.reaction');
    if (reaction?.dataset.emoji) {
      const yours = reaction.getAttribute('aria-pressed') === 'true';
      this.#run(row, yours ? 'remove your reaction' : 'react', () =>
        yours
          ? this.client.unreact(ref.id, id, reaction.dataset.emoji!)
          : this.client.react(ref.id, id, reaction.dataset.emoji!),
      );
      return;
    }
    const pick = target.closest<HTMLElement>('.pick');
    if (pick?.dataset.emoji) {
      this.#closeMenus(row);
      const mine = this.thread
        .message(id)
        ?.reactions?.[pick.dataset.emoji]?.users.includes(this.client.userId);
      this.#run(row, 'react', () =>
        mine
          ? this.client.unreact(ref.id, id, pick.dataset.emoji!)
          : this.client.react(ref.id, id, pick.dataset.emoji!),
      );
      return;
    }
    const action = target.closest<HTMLElement>('.action')?.dataset.action;
    if (!action) return;
    const message = this.thread.message(id);
    if (!message) return;
    switch (action) {
      case 'reply':
        this.#closeMenus(row);
        this.thread.replyTo(message);
        return;
      case 'react': {
        const picker = row.querySelector<HTMLElement>('.picker');
        row.querySelector<HTMLElement>('.actions')!.hidden = true;
        if (picker) {
          picker.hidden = false;
          picker.querySelector<HTMLElement>('button')?.focus();
        }
        return;
      }
      case 'edit':
        this.#closeMenus(row);
        this.#edit(row, ref, message);
        return;
      case 'delete-me':
        this.#closeMenus(row);
        this.#run(row, 'delete', () => this.client.deleteMessage(ref.id, id, { for: 'me' }));
        return;
      case 'delete-everyone':
        this.#closeMenus(row);
        this.#run(row, 'delete', () => this.client.deleteMessage(ref.id, id, { for: 'everyone' }));
        return;
    }
  }

  #toggleMenu(row: HTMLElement): void {
    const actions = row.querySelector<HTMLElement>('.actions');
    if (!actions) return;
    const open = actions.hidden && row.querySelector<HTMLElement>('.picker')?.hidden !== false;
    // One menu open at a time in the thread.
    for (const other of this.messages.querySelectorAll<HTMLElement>('.message')) this.#closeMenus(other);
    if (!open) return;
    actions.hidden = false;
    row.querySelector('.more')?.setAttribute('aria-expanded', 'true');
    actions.querySelector<HTMLElement>('button')?.focus();
  }

  /** Closes the row's actions and picker; true when one was open. */
  #closeMenus(row: HTMLElement): boolean {
    let closed = false;
    for (const menu of row.querySelectorAll<HTMLElement>('.actions, .picker')) {
      if (!menu.hidden) closed = true;
      menu.hidden = true;
    }
    row.querySelector('.more')?.setAttribute('aria-expanded', 'false');
    return closed;
  }

  /** The text becomes a field in place: Enter (or Save) sends the edit, Escape (or Cancel) puts it back. */
  #edit(row: HTMLElement, ref: ConversationRef, message: ChatMessage): void {
    const text = row.querySelector<HTMLElement>('.bubble .text');
    if (!text || row.querySelector('.edit-form')) return;
    const input = h('input', {
      class: 'edit-input',
      value: message.text ?? '',
      maxlength: '4000',
      autocomplete: 'off',
      'aria-label': 'Edit message',
    });
    const save = h('button', { class: 'primary', type: 'submit' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'link' }, 'Cancel');
    const form = h('form', { class: 'edit-form' }, input, save, cancel);
    const close = () => {
      form.replaceWith(text);
      row.querySelector<HTMLElement>('.more')?.focus();
    };
    cancel.addEventListener('click', close);
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.stopPropagation();
        close();
      }
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const next = input.value.trim();
      if (!next || next === message.text) {
        close();
        return;
      }
      // Shown at once; the server's copy (messageChanged) re-draws the row, a refusal puts it back.
      text.textContent = next;
      row.classList.add('saving');
      close();
      this.#run(
        row,
        'edit',
        () =>
          this.client.editMessage(ref.id, message.message_id, {
            text: next,
            mentions: mentionsIn(next, this.thread.mentionable()),
          }),
        () => {
          text.textContent = message.text ?? '';
        },
      ).finally(() => row.classList.remove('saving'));
    });
    text.replaceWith(form);
    input.focus();
    input.select();
  }

  /** Runs an action; a refusal (its stable code and reason) shows under the message for a while. */
  async #run(
    row: HTMLElement,
    what: string,
    action: () => Promise<unknown>,
    undo?: () => void,
  ): Promise<void> {
    try {
      await action();
    } catch (error) {
      undo?.();
      // The row may have been re-drawn meanwhile: find the one shown now.
      const shown =
        this.messages.querySelector<HTMLElement>(`.message[data-id="${CSS.escape(row.dataset.id ?? '')}"]`) ??
        row;
      const line = shown.querySelector<HTMLElement>('.action-error');
      if (!line) return;
      const code = (error as { code?: unknown }).code;
      line.textContent = `Could not ${what}: ${error instanceof Error ? error.message : String(error)}${
        typeof code === 'string' ? ` (${code})` : ''
      }`;
      line.hidden = false;
      setTimeout(() => {
        line.hidden = true;
      }, ERROR_SHOWN_MS);
    }
  }
}
