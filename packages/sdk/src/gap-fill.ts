import type { MessageCopy } from '@mercurio/protocol';
import type { HistoryPage } from './api.js';

/** One conversation's view of `seq`: everything up to `contiguous` was seen; `above` are seen seqs past a gap. */
interface SeqState {
  contiguous: number;
  above: Set<number>;
}

/**
 * Tracks, per conversation, which sequence numbers the client has seen. The first message seen
 * in a conversation sets its baseline (older messages are history, not a gap); from then on a
 * missing seq is a gap that `GapFiller` fills from the history API after a reconnect.
 */
export class SeqTracker {
  readonly #conversations = new Map<string, SeqState>();

  /** Records a seen seq. */
  observe(conversWith: string, seq: number): void {
    const state = this.#conversations.get(conversWith);
    if (!state) {
      this.#conversations.set(conversWith, { contiguous: seq, above: new Set() });
      return;
    }
    if (seq <= state.contiguous) return;
    state.above.add(seq);
    while (state.above.delete(state.contiguous + 1)) state.contiguous++;
  }

  /** After a fill: everything up to `seq` is known (the server may skip seqs hidden from this user). */
  settle(conversWith: string, seq: number): void {
    const state = this.#conversations.get(conversWith);
    if (!state) {
      this.#conversations.set(conversWith, { contiguous: seq, above: new Set() });
      return;
    }
    if (seq <= state.contiguous) return;
    state.contiguous = seq;
    for (const above of state.above) if (above <= seq) state.above.delete(above);
    while (state.above.delete(state.contiguous + 1)) state.contiguous++;
  }

  /** Starts tracking a conversation the app already has up to `seq` (e.g. loaded from its own cache). */
  track(conversWith: string, seq: number): void {
    if (!this.#conversations.has(conversWith)) this.observe(conversWith, seq);
  }

  /** The last seq before the first gap, or undefined for an unknown conversation. */
  contiguous(conversWith: string): number | undefined {
    return this.#conversations.get(conversWith)?.contiguous;
  }

  conversations(): string[] {
    return [...this.#conversations.keys()];
  }
}

/**
 * A page of history after `after`; `seen` is a later seq the client already holds (a live copy
 * past the gap), so that a server reading from a replica answers only once it has that seq.
 */
export type FetchPage = (conversWith: string, after: number, seen?: number) => Promise<HistoryPage>;

/**
 * Pages forward (`after=<last contiguous seq>`) through every known conversation until the
 * server has no more, and returns what it got, oldest first. The caller merges it with the
 * messages that arrived live meanwhile and emits each message once.
 */
export async function fillGaps(
  tracker: SeqTracker,
  fetchPage: FetchPage,
): Promise<Map<string, { messages: MessageCopy[]; lastSeq: number | undefined }>> {
  const filled = new Map<string, { messages: MessageCopy[]; lastSeq: number | undefined }>();
  await Promise.all(
    tracker.conversations().map(async (conversWith) => {
      const messages: MessageCopy[] = [];
      let after = tracker.contiguous(conversWith) ?? 0;
      let lastSeq: number | undefined;
      for (;;) {
        const page = await fetchPage(conversWith, after);
        messages.push(...page.messages);
        if (page.lastSeq === null || page.lastSeq <= after) break;
        after = page.lastSeq;
        lastSeq = page.lastSeq;
        if (!page.hasMore) break;
      }
      filled.set(conversWith, { messages, lastSeq });
    }),
  );
  return filled;
}
