import { describe, expect, it } from 'vitest';
import type { Publication } from '../src/bus/bus.js';
import { payloadBodies } from '../src/bus/payload-bodies.js';

describe('payload bodies (both buses)', () => {
  it("serialises a fan-out's shared payload once: 500 copies, one body", () => {
    const copy = { text: 'hi all', seq: 7, status: 150 };
    const events: Publication[] = Array.from({ length: 500 }, (_, i) => ({
      topic: { kind: 'messageAdded', app: 'app', user: `member-${i}`, conversWith: 'group-big' },
      payload: copy,
    }));
    const bodies = payloadBodies(events);
    expect(bodies).toHaveLength(500);
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!.toString('utf8'))).toEqual(copy);
  });

  it('keeps each distinct payload its own body, in the order of the events', () => {
    const shared = { text: 'shared' };
    const events: Publication[] = [
      { topic: { kind: 'error', app: 'app', user: 'ann' }, payload: shared },
      { topic: { kind: 'error', app: 'app', user: 'ben' }, payload: { text: 'own' } },
      { topic: { kind: 'error', app: 'app', user: 'cat' }, payload: shared },
    ];
    const bodies = payloadBodies(events).map((body) => body.toString('utf8'));
    expect(bodies).toEqual(['{"text":"shared"}', '{"text":"own"}', '{"text":"shared"}']);
  });
});
