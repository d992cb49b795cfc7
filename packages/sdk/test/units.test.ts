import { describe, expect, it } from 'vitest';
import { Dedupe } from '../src/dedupe.js';
import { fillGaps, SeqTracker } from '../src/gap-fill.js';
import { memoryStorage, Outbox } from '../src/outbox.js';
import { readClaims } from '../src/token.js';

describe('SeqTracker', () => {
  it('starts at the first seq seen and moves over contiguous seqs only', () => {
    const tracker = new SeqTracker();
    tracker.observe('bob', 5);
    tracker.observe('bob', 7);
    expect(tracker.contiguous('bob')).toBe(5);
    tracker.observe('bob', 6);
    expect(tracker.contiguous('bob')).toBe(7);
    tracker.settle('bob', 9);
    expect(tracker.contiguous('bob')).toBe(9);
    expect(tracker.contiguous('carol')).toBeUndefined();
  });

  it('fills each conversation page by page after its last contiguous seq', async () => {
    const tracker = new SeqTracker();
    tracker.observe('bob', 2);
    const asked: number[] = [];
    const filled = await fillGaps(tracker, async (_cw, after) => {
      asked.push(after);
      const seqs = after === 2 ? [3, 4] : after === 4 ? [5] : [];
      return {
        messages: seqs.map((seq) => ({ seq, message_id: `m${seq}` }) as never),
        hidden: [],
        hasMore: after === 2,
        firstSeq: seqs[0] ?? null,
        lastSeq: seqs[seqs.length - 1] ?? null,
      };
    });
    expect(asked).toEqual([2, 4]);
    expect(filled.get('bob')?.messages.map((m) => m.seq)).toEqual([3, 4, 5]);
    expect(filled.get('bob')?.lastSeq).toBe(5);
  });
});

describe('Dedupe', () => {
  it('says first once per id and forgets the oldest beyond capacity', () => {
    const dedupe = new Dedupe(2);
    expect(dedupe.first('a')).toBe(true);
    expect(dedupe.first('a')).toBe(false);
    dedupe.first('b');
    dedupe.first('c');
    expect(dedupe.has('a')).toBe(false);
  });
});

describe('Outbox', () => {
  it('keeps entries in order until acknowledged and reloads them from storage', async () => {
    const storage = memoryStorage();
    const outbox = new Outbox(storage);
    await outbox.add({ id: '1', topic: 't', payload: '{}', createdAt: 1 });
    await outbox.add({ id: '2', topic: 't', payload: '{}', createdAt: 2 });
    const settled = outbox.settled('1');
    await outbox.acknowledged('1');
    await settled;
    const reloaded = new Outbox(storage);
    await reloaded.load();
    expect(reloaded.pending().map((e) => e.id)).toEqual(['2']);
  });
});

describe('readClaims', () => {
  it('reads sub, app_id and exp from a JWT without verifying it', () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = `${part({ alg: 'HS256' })}.${part({ sub: 'älice', app_id: 'app', exp: 5 })}.sig`;
    expect(readClaims(token)).toEqual({ sub: 'älice', app_id: 'app', exp: 5 });
    expect(readClaims('not a token')).toEqual({});
  });
});
