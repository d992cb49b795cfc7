import { type ChatMessage, type MercurioClient, quoteText } from '@mercurio/sdk';
import { h, NOT_SENT } from './dom.js';
import { MentionPicker, mentionsIn } from './mentions.js';
import type { ChatState, ConversationRef } from './state.js';
import type { Uploads } from './uploads.js';

/** A message without the broker's acknowledgement after this long is shown as not sent, with a retry. */
const SEND_TIMEOUT_MS = 6000;
/** Typing is announced at most this often while the user types, and stopped after this long idle. */
const TYPING_EVERY_MS = 2500;
const TYPING_IDLE_MS = 4000;

/** What the composer needs of the open thread (thread.ts's ThreadView, which owns the composer). */
export interface ComposerThread {
  /** The open conversation, fixed when it was opened. */
  readonly current: ConversationRef | undefined;
  /** Ids of the messages shown as on their way. */
  sending(): string[];
  onMessage(message: ChatMessage): void;
  message(messageId: string): ChatMessage | undefined;
  setStatus(messageId: string, status: number): void;
  restatus(messageId: string, status: number): void;
  /** Who may be mentioned here (the conversation's members but the user). */
  mentionable(): string[];
}

/**
 * Writing in the open thread: Enter sends (shown at once, then moved on by the broker's ack and
 * the server's receipts), typing is announced (throttled) and stopped, and a message that could
 * not go is marked "not sent" with a retry.
 */
export class Composer {
  readonly input = h('input', {
    id: 'composer',
    placeholder: 'Write a message…',
    autocomplete: 'off',
    maxlength: '4000',
    'aria-label': 'Message',
  });
  /** "Replying to …" above the field while a reply is being written. */
  readonly replyBar = h('div', { class: 'reply-bar', id: 'reply-bar', hidden: 'true' });
  readonly mentions = new MentionPicker(this.input, () => this.thread.mentionable());
  /** Attach: the button opens the browser's file picker (any number of files). */
  readonly fileInput = h('input', {
    type: 'file',
    id: 'attach-input',
    multiple: 'true',
    hidden: 'true',
    tabindex: '-1',
    'aria-hidden': 'true',
  });
  readonly attachButton = h(
    'button',
    {
      class: 'icon attach',
      id: 'attach',
      type: 'button',
      'aria-label': 'Attach files',
      title: 'Attach files',
    },
    '📎',
  );
  readonly form = h(
    'form',
    { class: 'composer', id: 'composer-form', hidden: 'true' },
    this.replyBar,
    h(
      'div',
      { class: 'composer-row' },
      this.attachButton,
      this.fileInput,
      this.input,
      h('button', { class: 'primary', type: 'submit' }, 'Send'),
    ),
    this.mentions.list,
  );
  /** The message the next one answers. */
  #replyTo: ChatMessage | undefined;
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Messages the server refused (an error event): a retry sends them again. */
  readonly #refused = new Set<string>();
  #typingTo: string | undefined;
  #typingSentAt = 0;
  #typingIdle: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly client: MercurioClient,
    readonly state: ChatState,
    readonly thread: ComposerThread,
    readonly uploads: Uploads,
  ) {
    this.form.prepend(uploads.list);
    this.attachButton.addEventListener('click', () => this.fileInput.click());
    this.fileInput.addEventListener('change', () => {
      this.uploads.add(this.fileInput.files ?? []);
      this.fileInput.value = ''; // the same file can be picked again
    });
    // A pasted image (a screenshot from the clipboard) is sent as a file; pasted text stays text.
    this.input.addEventListener('paste', (event) => {
      const files = event.clipboardData?.files;
      if (!files || files.length === 0) return;
      event.preventDefault();
      this.uploads.add(files);
    });
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
    this.input.addEventListener('input', () => this.#typed());
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.#replyTo && !this.mentions.open) this.cancelReply();
    });
    // Whatever was on its way when the connection went is not sent (yet): say so.
    client.on('state', ({ new: now }) => {
      if (now !== 'connected') for (const id of thread.sending()) this.#notSent(id);
    });
  }

  send(): void {
    const text = this.input.value.trim();
    // The open conversation's kind, fixed when it was opened: never what arrived since.
    const to = this.thread.current;
    if (!text || !to) return;
    this.input.value = '';
    this.stopTyping();
    this.mentions.close();
    const replyTo = this.#replyTo;
    this.cancelReply(false);
    const mentions = mentionsIn(text, this.thread.mentionable());
    const message: ChatMessage = {
      message_id: crypto.randomUUID(),
      sender: this.state.user,
      recipient: to.id,
      app_id: this.client.appId,
      timestamp: Date.now(),
      channel_type: to.group ? 'group' : 'direct',
      status: 0,
      seq: 0,
      text,
      ...(mentions.length > 0 ? { mentions } : {}),
      ...(replyTo
        ? {
            reply_to: replyTo.message_id,
            // Shown at once; the server's copy brings its own quote.
            quote: {
              message_id: replyTo.message_id,
              seq: replyTo.seq,
              sender: replyTo.sender,
              text: quoteText(replyTo.text),
            },
          }
        : {}),
    };
    this.thread.onMessage(message);
    this.state.fromMessage(to, message, false);
    this.#deliver(message);
  }

  /** The next message answers `message`: the bar above the field says so, Escape or ✕ cancels. */
  replyTo(message: ChatMessage): void {
    this.#replyTo = message;
    const who = message.sender === this.state.user ? 'yourself' : message.sender;
    const cancel = h('button', { class: 'icon', type: 'button', 'aria-label': 'Cancel reply' }, '✕');
    cancel.addEventListener('click', () => this.cancelReply());
    this.replyBar.replaceChildren(
      h(
        'span',
        { class: 'reply-preview' },
        h('span', { class: 'quote-sender' }, `Replying to ${who}`),
        h('span', { class: 'quote-text' }, quoteText(message.text)),
      ),
      cancel,
    );
    this.replyBar.hidden = false;
    this.input.focus();
  }

  cancelReply(focus = true): void {
    this.#replyTo = undefined;
    this.replyBar.hidden = true;
    this.replyBar.replaceChildren();
    if (focus) this.input.focus();
  }

  /** A message not sent: connect now if offline (it waits in the outbox), else send it again. */
  retry(messageId: string): void {
    const message = this.thread.message(messageId);
    if (!message) return;
    this.thread.restatus(messageId, 0);
    const waiting = this.client.pending().some((entry) => entry.id === messageId);
    if (waiting && !this.#refused.has(messageId)) {
      this.client.retryNow();
      this.#watch(messageId);
      return;
    }
    this.#refused.delete(messageId);
    this.#deliver(message);
  }

  /** The server refused a message (e.g. not a member any more): shown as not sent. */
  refused(messageId: string): void {
    if (!this.thread.message(messageId)) return;
    this.#refused.add(messageId);
    this.thread.restatus(messageId, NOT_SENT);
  }

  /** The message moved on (acknowledged, delivered, failed): no more waiting for it. */
  settled(messageId: string): void {
    clearTimeout(this.#timers.get(messageId));
    this.#timers.delete(messageId);
  }

  #deliver(message: ChatMessage): void {
    const id = message.message_id;
    const group = message.channel_type === 'group';
    const name = group ? this.state.title({ id: message.recipient, group }) : undefined;
    this.#watch(id);
    if (this.client.state !== 'connected') this.#notSent(id);
    this.client
      .sendMessage(message.recipient, message.text ?? '', {
        messageId: id,
        group,
        ...(name ? { recipientFullname: name } : {}),
        ...(message.reply_to ? { replyTo: message.reply_to } : {}),
        ...(message.mentions?.length ? { mentions: message.mentions } : {}),
      })
      .then(() => this.thread.setStatus(id, 100))
      .catch(() => this.#notSent(id));
  }

  #watch(messageId: string): void {
    clearTimeout(this.#timers.get(messageId));
    this.#timers.set(
      messageId,
      setTimeout(() => this.#notSent(messageId), SEND_TIMEOUT_MS),
    );
  }

  #notSent(messageId: string): void {
    if (this.thread.message(messageId)?.status === 0) this.thread.setStatus(messageId, NOT_SENT);
  }

  /** Typing: announced when the user starts, again every few seconds, stopped when idle or sent. */
  #typed(): void {
    const to = this.thread.current?.id;
    if (!to) return;
    if (!this.input.value.trim()) {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (to !== this.#typingTo || now - this.#typingSentAt > TYPING_EVERY_MS) {
      this.#typingTo = to;
      this.#typingSentAt = now;
      void this.client.typing(to, true).catch(() => {});
    }
    clearTimeout(this.#typingIdle);
    this.#typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping(): void {
    clearTimeout(this.#typingIdle);
    const to = this.#typingTo;
    this.#typingTo = undefined;
    this.#typingSentAt = 0;
    if (to) void this.client.typing(to, false).catch(() => {});
  }
}
