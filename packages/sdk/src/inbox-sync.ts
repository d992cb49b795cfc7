import { conversationKindOf, type MessageCopy } from '@mercurio/protocol';
import type { Dedupe } from './dedupe.js';
import type { Emitter, MercurioEvents, MessageSource } from './events.js';
import { type FetchPage, fillGaps, type SeqTracker } from './gap-fill.js';
import { LiveOrder } from './live-order.js';

interface Buffered {
  conversWith: string;
  message: MessageCopy;
}

export interface InboxSyncOptions {
  emitter: Emitter;
  dedupe: Dedupe;
  tracker: SeqTracker;
  /** A page of a conversation's history after a seq; undefined without the HTTP API (no gap fill). */
  fetchPage: FetchPage | undefined;
  /** How long a live message past a gap waits for the missing ones (see LiveOrder). */
  gapHoldMs: number;
  /**
   * The object to hand the app for a message (the held one, with any change that came before
   * it), or undefined when it was hidden for this user meanwhile.
   */
  admit?(conversWith: string, message: MessageCopy): MessageCopy | undefined;
  error(code: string, message: string, extra: Partial<MercurioEvents['error']>): void;
}

/**
 * Delivers checked messages to the app: each once (by `message_id`), in `seq` order per
 * conversation. After every (re)connect, the messages of the persistent session (they arrive
 * right after CONNACK) are held while each known conversation's gap is filled from the history
 * API, merged with what was filled, and emitted before `uptodate`. Live, a message past a gap
 * waits briefly for the missing ones (LiveOrder).
 */
export class InboxSync {
  readonly #options: InboxSyncOptions;
  #syncing = false;
  #generation = 0;
  #buffered: Buffered[] = [];
  readonly #live: LiveOrder;

  constructor(options: InboxSyncOptions) {
    this.#options = options;
    this.#live = new LiveOrder({
      tracker: options.tracker,
      holdMs: options.gapHoldMs,
      fetchPage: options.fetchPage,
      deliver: (conversWith, message, source) => this.#deliver(conversWith, message, source),
      error: (code, message, cause) => options.error(code, message, { cause }),
    });
  }

  /** A new connection: hold live messages until `fill()` is done (it fills every gap). */
  hold(): void {
    this.#syncing = true;
    ++this.#generation;
    this.#buffered.push(...this.#live.drain());
  }

  /** Closed: nothing is held any more. */
  release(): void {
    this.#syncing = false;
    this.#live.drain();
  }

  /** A live message (already checked). */
  receive(conversWith: string, message: MessageCopy): void {
    if (this.#syncing) this.#buffered.push({ conversWith, message });
    else this.#live.receive(conversWith, message);
  }

  /** Fills every known conversation's gap, emits what was held, then `uptodate` (unless the fill failed). */
  async fill(): Promise<void> {
    const generation = this.#generation;
    const { tracker, fetchPage } = this.#options;
    const conversations = tracker.conversations().length;
    let filled = 0;
    let ok = true;
    if (fetchPage && conversations > 0) {
      try {
        const pages = await fillGaps(tracker, fetchPage);
        if (generation !== this.#generation) return;
        for (const [conversWith, page] of pages) {
          const live = this.#takeBuffered(conversWith);
          const merged: { message: MessageCopy; source: MessageSource }[] = [
            ...page.messages.map((message) => ({ message, source: 'gap-fill' as const })),
            ...live.map((message) => ({ message, source: 'live' as const })),
          ].sort((a, b) => a.message.seq - b.message.seq);
          for (const { message, source } of merged) {
            if (this.#deliver(conversWith, message, source) && source === 'gap-fill') filled++;
          }
          if (page.lastSeq !== undefined) tracker.settle(conversWith, page.lastSeq);
        }
      } catch (cause) {
        if (generation !== this.#generation) return;
        ok = false;
        this.#options.error('gap_fill_failed', `could not fill gaps from the history API: ${String(cause)}`, {
          cause,
        });
      }
    }
    if (generation !== this.#generation) return;
    // Conversations the fill did not know: their first message sets the baseline, so lowest first.
    const rest = this.#buffered.sort((a, b) => a.message.seq - b.message.seq);
    this.#buffered = [];
    this.#syncing = false;
    for (const { conversWith, message } of rest) this.#live.receive(conversWith, message);
    if (ok) this.#options.emitter.emit('uptodate', { conversations, filled });
  }

  #takeBuffered(conversWith: string): MessageCopy[] {
    const taken = this.#buffered.filter((b) => b.conversWith === conversWith).map((b) => b.message);
    this.#buffered = this.#buffered.filter((b) => b.conversWith !== conversWith);
    return taken;
  }

  /** Emits a message once per message_id; true when it was emitted. */
  #deliver(conversWith: string, message: MessageCopy, source: MessageSource): boolean {
    if (!this.#options.dedupe.first(message.message_id)) return false;
    this.#options.tracker.observe(conversWith, message.seq);
    const admitted = this.#options.admit ? this.#options.admit(conversWith, message) : message;
    if (!admitted) return false;
    const kind = conversationKindOf(admitted.channel_type, conversWith);
    this.#options.emitter.emit('message', { conversWith, kind, message: admitted, source });
    return true;
  }
}
