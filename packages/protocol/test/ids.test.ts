import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkAppId,
  checkId,
  isValidId,
  MAX_ID_LENGTH,
  RESERVED_APP_IDS,
  SYSTEM_SENDER,
} from '../src/ids.js';

// Every whitespace, control and format code point, enumerated once so properties can draw from them.
const INVISIBLE: string[] = [];
for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const char = String.fromCodePoint(cp);
  if (/^[\s\p{Cc}\p{Cf}]$/u.test(char)) INVISIBLE.push(char);
}
const INVISIBLE_SET = new Set(INVISIBLE);
const SEPARATORS_AND_WILDCARDS = ['/', '.', '+', '#', '*'];
const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff'];

/** Any code point an id may contain: not a surrogate, separator, wildcard, whitespace, control or format char. */
const allowedChar = fc
  .integer({ min: 0, max: 0x10ffff })
  .filter((cp) => cp < 0xd800 || cp > 0xdfff)
  .map((cp) => String.fromCodePoint(cp))
  .filter((char) => !SEPARATORS_AND_WILDCARDS.includes(char) && !INVISIBLE_SET.has(char));

describe('checkId', () => {
  it.each([
    'U1',
    'tilechat',
    'group-6a1b2c',
    'user_1',
    'support-group-64a:bot_x',
    'bot@example:com',
    'a|b',
    '%41',
    "O'Brien",
    '(x)',
    'ünïcödé',
    'Жанна',
    '中文',
    'مرحبا',
    '🙂',
    'update',
    'clientadded',
    'messages',
    SYSTEM_SENDER,
    'a'.repeat(MAX_ID_LENGTH),
    // 128 code points but 256 UTF-16 units: the limit counts code points.
    '😀'.repeat(MAX_ID_LENGTH),
  ])('accepts %j', (id) => {
    expect(checkId(id)).toEqual({ ok: true, value: id });
    expect(isValidId(id)).toBe(true);
  });

  it.each<[unknown, string]>([
    [undefined, 'id must be a string'],
    [null, 'id must be a string'],
    [42, 'id must be a string'],
    [{ toString: () => 'U1' }, 'id must be a string'],
    ['', 'id must not be empty'],
    ['a'.repeat(MAX_ID_LENGTH + 1), 'id must be at most 128 characters long (it has 129)'],
    ['😀'.repeat(MAX_ID_LENGTH + 1), 'id must be at most 128 characters long (it has 129)'],
    ['a/b', "id must not contain '/'"],
    ['a.b', "id must not contain '.'"],
    ['a+b', "id must not contain '+'"],
    ['a#b', "id must not contain '#'"],
    ['a*b', "id must not contain '*'"],
    ['a b', 'id must not contain whitespace (U+0020)'],
    ['a\tb', 'id must not contain whitespace (U+0009)'],
    ['a\nb', 'id must not contain whitespace (U+000A)'],
    ['a\u00a0b', 'id must not contain whitespace (U+00A0)'],
    ['a\u2028b', 'id must not contain whitespace (U+2028)'],
    ['a\u3000b', 'id must not contain whitespace (U+3000)'],
    ['a\u0000b', 'id must not contain a control character (U+0000)'],
    ['a\u007fb', 'id must not contain a control character (U+007F)'],
    ['a\u0085b', 'id must not contain a control character (U+0085)'],
    ['a\u200bb', 'id must not contain an invisible format character (U+200B)'],
    ['a\u200db', 'id must not contain an invisible format character (U+200D)'],
    ['a\u202eb', 'id must not contain an invisible format character (U+202E)'],
    ['a\u00adb', 'id must not contain an invisible format character (U+00AD)'],
    ['\ud800', 'id must not contain an unpaired surrogate (U+D800)'],
    ['a\udc00b', 'id must not contain an unpaired surrogate (U+DC00)'],
  ])('refuses %j', (id, reason) => {
    expect(checkId(id)).toEqual({ ok: false, reason });
    expect(isValidId(id)).toBe(false);
  });

  it('names the id in the reason', () => {
    expect(checkId('a/b', 'user id')).toEqual({ ok: false, reason: "user id must not contain '/'" });
    expect(checkId('', 'group id')).toEqual({ ok: false, reason: 'group id must not be empty' });
  });

  it('accepts every string of allowed characters up to the length limit', () => {
    fc.assert(
      fc.property(fc.string({ unit: allowedChar, minLength: 1, maxLength: MAX_ID_LENGTH }), (id) => {
        expect(checkId(id)).toEqual({ ok: true, value: id });
      }),
    );
  });

  it('refuses every id over 128 code points, whatever the characters', () => {
    const long = fc.string({ unit: allowedChar, minLength: MAX_ID_LENGTH + 1, maxLength: 3 * MAX_ID_LENGTH });
    fc.assert(
      fc.property(long, (id) => {
        const check = checkId(id, 'user id');
        expect(check.ok).toBe(false);
        if (!check.ok) expect(check.reason).toMatch(/^user id must be at most 128 characters long/);
      }),
    );
  });

  it('refuses every string containing a forbidden character, wherever it is', () => {
    const forbidden = fc.constantFrom(...SEPARATORS_AND_WILDCARDS, ...INVISIBLE, ...LONE_SURROGATES);
    const around = fc.string({ unit: allowedChar, maxLength: 20 });
    fc.assert(
      fc.property(around, forbidden, around, (before, char, after) => {
        const check = checkId(before + char + after, 'user id');
        expect(check.ok).toBe(false);
        if (!check.ok) expect(check.reason).toMatch(/^user id must not contain /);
      }),
    );
  });
});

describe('checkAppId', () => {
  it('accepts ordinary app ids', () => {
    expect(checkAppId('tilechat')).toEqual({ ok: true, value: 'tilechat' });
    // Routing keys are case-sensitive, so only the exact reserved word collides.
    expect(checkAppId('Observer')).toEqual({ ok: true, value: 'Observer' });
  });

  it('refuses the service namespace', () => {
    expect(RESERVED_APP_IDS).toEqual(['observer']);
    expect(checkAppId('observer')).toEqual({
      ok: false,
      reason: "app id 'observer' is reserved for services",
    });
  });

  it('refuses invalid ids, naming the app id', () => {
    expect(checkAppId('tile.chat')).toEqual({ ok: false, reason: "app id must not contain '.'" });
    expect(checkAppId(undefined)).toEqual({ ok: false, reason: 'app id must be a string' });
  });
});
