import type { MessageCopy } from '@mercurio/protocol';
import { describe, expect, it } from 'vitest';
import type { HistoryPage } from '../src/api.js';
import { Dedupe } from '../src/dedupe.js';
import type { MessageSource } from '../src/events.js';
import { SeqTracker } from '../src/gap-fill.js';
import { LiveOrder } from '../src/live-order.js';

const HOLD_MS = 50;

const copy = (seq: number): MessageCopy => ({ seq, message_id: `m${seq}`, text: `t${seq}` }) as MessageCopy;

/** A LiveOrder wired as the SDK wires it: dedupe by id, the tracker observing what is emitted. */
function harness(history?: (after: number) => number[]) {
  const tracker = new SeqTracker();
  const dedupe = new Dedupe();
  const emitted: { seq: number; source: MessageSource }[] = [];
  const asked: number[] = [];
  /** The seq each history request named as already seen (a read replica must hold it). */
  const named: (number | undefined)[] = [];
  const live = new LiveOrder({
    tracker,
    holdMs: HOLD_MS,
    fetchPage:
      history &&
      (async (_conversWith, after, seen): Promise<HistoryPage> => {
        asked.push(after);
        named.push(seen);
        const seqs = history(after);
        return {
          messages: seqs.map(copy),
          hidden: [],
          hasMore: false,
          firstSeq: seqs[0] ?? null,
          lastSeq: seqs.at(-1) ?? null,
        };
      }),
    deliver(_conversWith, message, source) {
      if (!dedupe.first(message.message_id)) return;
      tracker.observe('bob', message.seq);
      emitted.push({ seq: message.seq, source });
    },
    error: (code) => {
      throw new Error(code);
    },
  });
  return { live, emitted, asked, named, tracker };
}

const settled = () => new Promise((resolve) => setTimeout(resolve, HOLD_MS * 3));

describe('LiveOrder', () => {
  it('names the newest held seq to the history request, so a lagging read replica cannot answer it', async () => {
    const { live, emitted, asked, named } = harness((after) => [2, 3, 4, 5].filter((seq) => seq > after));
    live.receive('bob', copy(1));
    live.receive('bob', copy(3));
    live.receive('bob', copy(5));
    await settled();
    expect(asked).toEqual([1]);
    expect(named).toEqual([5]);
    expect(emitted.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });
  it('holds a copy that overtook an earlier one and emits both in seq order', async () => {
    const { live, emitted, asked } = harness(() => []);
    live.receive('bob', copy(1));
    live.receive('bob', copy(3));
    live.receive('bob', copy(4));
    expect(emitted.map((e) => e.seq)).toEqual([1]);
    live.receive('bob', copy(2));
    expect(emitted.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    await settled();
    // The gap closed in time: no history request.
    expect(asked).toEqual([]);
  });

  it('fills a gap that does not close from history, then emits what it held', async () => {
    const { live, emitted, asked, tracker } = harness((after) => [2, 3, 4, 5].filter((s) => s > after));
    live.receive('bob', copy(1));
    live.receive('bob', copy(4));
    live.receive('bob', copy(5));
    await settled();
    expect(asked).toEqual([1]);
    expect(emitted).toEqual([
      { seq: 1, source: 'live' },
      { seq: 2, source: 'gap-fill' },
      { seq: 3, source: 'gap-fill' },
      { seq: 4, source: 'live' },
      { seq: 5, source: 'live' },
    ]);
    expect(tracker.contiguous('bob')).toBe(5);
    // A late copy of a filled message is a duplicate; the next one passes at once.
    live.receive('bob', copy(3));
    live.receive('bob', copy(6));
    expect(emitted.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('moves past a seq history does not have (hidden from this user) after one wait', async () => {
    const { live, emitted, tracker } = harness((after) => [3].filter((s) => s > after));
    live.receive('bob', copy(1));
    live.receive('bob', copy(3));
    await settled();
    expect(emitted.map((e) => e.seq)).toEqual([1, 3]);
    expect(tracker.contiguous('bob')).toBe(3);
    live.receive('bob', copy(4));
    expect(emitted.map((e) => e.seq)).toEqual([1, 3, 4]);
  });

  it('without the HTTP API emits the held copies in order after the wait', async () => {
    const { live, emitted } = harness();
    live.receive('bob', copy(1));
    live.receive('bob', copy(4));
    live.receive('bob', copy(3));
    await settled();
    expect(emitted.map((e) => e.seq)).toEqual([1, 3, 4]);
  });

  it('hands its held copies to a reconnect and stops waiting', async () => {
    const { live, emitted, asked } = harness(() => []);
    live.receive('bob', copy(1));
    live.receive('bob', copy(3));
    expect(live.drain().map((d) => d.message.seq)).toEqual([3]);
    await settled();
    expect(asked).toEqual([]);
    expect(emitted.map((e) => e.seq)).toEqual([1]);
  });
});
