/**
 * What a reaction may be: exactly one emoji (one user-perceived character, a grapheme cluster,
 * so a flag, a skin-toned or ZWJ family emoji and a keycap count as one) of at most
 * MAX_REACTION_BYTES bytes of UTF-8. Shared by the router, the HTTP API and the SDK.
 */
export const MAX_REACTION_BYTES = 32;

const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Why `reaction` is not one emoji, or undefined when it is one. */
export function reactionProblem(reaction: unknown): string | undefined {
  if (typeof reaction !== 'string' || reaction.length === 0) return 'a reaction must be one emoji';
  // Cheap bound first: a 10 kB string is never segmented.
  const bytes = new TextEncoder().encode(reaction).length;
  if (bytes > MAX_REACTION_BYTES)
    return `a reaction is at most ${MAX_REACTION_BYTES} bytes of UTF-8 (this one is ${bytes})`;
  let graphemes = 0;
  for (const _ of segmenter.segment(reaction)) graphemes++;
  if (graphemes !== 1 || !EMOJI.test(reaction)) return 'a reaction must be exactly one emoji';
  return undefined;
}
