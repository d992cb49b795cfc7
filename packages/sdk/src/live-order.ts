import type { MessageCopy } from '@mercurio/protocol';
import type { MessageSource } from './events.js';
import type { FetchPage, SeqTracker } from './gap-fill.js';

export interface LiveOrderOptions {
  tracker: SeqTracker;
  /** How long a message waits for an earlier one that is missing before the gap is filled from history. */
  holdMs: number;
  /** A page of a conversation's history after a seq; undefined without the HTTP API. */
  fetchPage: FetchPage | undefined;
  /** Emits a message (once per message_id). */
  deliver(conversWith: string, message: MessageCopy, source: MessageSource): void;
  error(code: string, message: string, cause: unknown): void;
}

interface Held {
  messages: Map<number, MessageCopy>;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Live messages in `seq` order per conversation. With several routers, the copy of a
 * conversation's message n+1 can overtake the copy of message n by a few milliseconds (they
 * leave different routers); and a copy can be lost with the router that was sending it. A
 * message past a gap is therefore held for `holdMs`: if the missing ones arrive, all are
 * emitted in order; if not, the gap is filled from the history API (the store has every
 * message before its copies leave) and the held messages follow. A seq the server never sends
 * this user (a group message hidden from them) costs one such wait and one history request.
 */
export class LiveOrder {
  readonly #options: LiveOrderOptions;
  readonly #held = new Map<string, Held>();

  constructor(options: LiveOrderOptions) {
    this.#options = options;
  }

  receive(conversWith: string, message: MessageCopy): void {
    const contiguous = this.#options.tracker.contiguous(conversWith);
    // The first message of a conversation sets its baseline; an old seq is a duplicate or history.
    if (contiguous === undefined || message.seq <= contiguous + 1) {
      this.#options.deliver(conversWith, message, 'live');
      this.#releaseReady(conversWith);
      return;
    }
    const held = this.#held.get(conversWith);
    if (held) {
      held.messages.set(message.seq, message);
      return;
    }
    const timer = setTimeout(() => void this.#fill(conversWith), this.#options.holdMs);
    this.#held.set(conversWith, { messages: new Map([[message.seq, message]]), timer });
  }

  /** Hands over every held message (a reconnect's sync takes them) and stops waiting. */
  drain(): { conversWith: string; message: MessageCopy }[] {
    const drained: { conversWith: string; message: MessageCopy }[] = [];
    for (const [conversWith, held] of this.#held) {
      clearTimeout(held.timer);
      for (const message of held.messages.values()) drained.push({ conversWith, message });
    }
    this.#held.clear();
    return drained;
  }

  /** Emits the held messages that the gap no longer separates, in order. */
  #releaseReady(conversWith: string): void {
    const held = this.#held.get(conversWith);
    if (!held) return;
    const { tracker, deliver } = this.#options;
    for (;;) {
      const next = held.messages.get((tracker.contiguous(conversWith) ?? 0) + 1);
      if (!next) break;
      held.messages.delete(next.seq);
      deliver(conversWith, next, 'live');
    }
    // Held messages at or below the watermark (delivered meanwhile by another path) are duplicates.
    const watermark = tracker.contiguous(conversWith) ?? 0;
    for (const seq of held.messages.keys()) if (seq <= watermark) held.messages.delete(seq);
    if (held.messages.size === 0) {
      clearTimeout(held.timer);
      this.#held.delete(conversWith);
    }
  }

  /** The wait is over: fetch what is missing, then emit it and the held messages in seq order. */
  async #fill(conversWith: string): Promise<void> {
    const held = this.#held.get(conversWith);
    if (!held) return;
    const { tracker, fetchPage, deliver } = this.#options;
    const highest = Math.max(...held.messages.keys());
    const filled: MessageCopy[] = [];
    let settledTo = highest;
    if (fetchPage) {
      try {
        let after = tracker.contiguous(conversWith) ?? 0;
        while (after < highest) {
          const page = await fetchPage(conversWith, after, highest);
          filled.push(...page.messages);
          if (page.lastSeq === null || page.lastSeq <= after) break;
          after = page.lastSeq;
          settledTo = Math.max(settledTo, page.lastSeq);
          if (!page.hasMore) break;
        }
      } catch (cause) {
        this.#options.error(
          'gap_fill_failed',
          `could not fill a gap from the history API: ${String(cause)}`,
          cause,
        );
      }
    }
    // A reconnect may have taken the held messages meanwhile.
    if (this.#held.get(conversWith) !== held) return;
    this.#held.delete(conversWith);
    const merged = [
      ...filled
        .filter((message) => !held.messages.has(message.seq))
        .map((message) => ({ message, source: 'gap-fill' as const })),
      ...[...held.messages.values()].map((message) => ({ message, source: 'live' as const })),
    ].sort((a, b) => a.message.seq - b.message.seq);
    for (const { message, source } of merged) deliver(conversWith, message, source);
    // What history did not have is not coming: the server skips seqs hidden from this user.
    tracker.settle(conversWith, settledTo);
  }
}
