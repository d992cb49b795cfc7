import { describe, expect, it } from 'vitest';
import { MAX_REACTION_BYTES, reactionProblem } from '../src/reactions.js';

describe('reactionProblem', () => {
  it.each(['👍', '❤️', '🇮🇹', '👍🏽', '👨‍👩‍👧‍👦', '1️⃣', '🫠'])('accepts one emoji: %s', (emoji) => {
    expect(reactionProblem(emoji)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['two emoji', '👍👍'],
    ['a letter', 'a'],
    ['a word', 'like'],
    ['an emoji and a letter', '👍a'],
    ['a digit alone', '1'],
    ['not a string', 42],
  ])('refuses %s', (_, reaction) => {
    expect(reactionProblem(reaction)).toMatch(/one emoji/);
  });

  it('refuses anything over the byte limit before segmenting it (a 10 kB string)', () => {
    expect(reactionProblem('👍'.repeat(2500))).toMatch(/at most 32 bytes/);
    // One grapheme, but absurd: many combining marks on one emoji.
    expect(reactionProblem(`👍${'\u0301'.repeat(20)}`)).toMatch(new RegExp(`${MAX_REACTION_BYTES} bytes`));
  });
});
