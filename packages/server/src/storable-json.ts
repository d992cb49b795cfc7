/**
 * What JSON.parse accepts but PostgreSQL cannot store, or should not be asked to: a payload
 * holding it is refused where it comes in (MQTT and HTTP alike). Accepted, it would fail in the
 * store on every retry (or tie the database up), and the message would block its conversation.
 *
 * - U+0000 in a string or a key: neither `text` nor `jsonb` can hold it.
 * - An unpaired UTF-16 surrogate escape (`"\ud800"`): `jsonb` refuses it (SQLSTATE 22P02) and
 *   `text` silently turns it into U+FFFD.
 * - Nesting deeper than the configured limit: PostgreSQL's recursive JSON code runs out of stack
 *   (SQLSTATE 54001) and PGlite spends seconds of its only thread on a few thousand levels.
 */

// ignoreBOM keeps a byte-order mark in the text, where JSON.parse refuses it, as before.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text of a JSON payload, or undefined when its bytes are not valid UTF-8: decoding them
 * leniently would store U+FFFD in place of what the client sent (JSON is UTF-8, RFC 8259).
 */
export function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Why `json` (parsed from `text`) cannot be stored, or undefined when it can. */
export function unstorableReason(text: string, json: unknown, maxDepth: number): string | undefined {
  // Raw NULs and raw surrogates cannot occur in valid UTF-8 JSON: only a `\u` escape yields one,
  // so most payloads only need the depth check.
  return new Walk(maxDepth, text.includes('\\u')).reason(json, 1);
}

/** The nesting of `{"a": [1]}` is 2: every object and array is a level. */
class Walk {
  constructor(
    readonly maxDepth: number,
    readonly checkStrings: boolean,
  ) {}

  reason(value: unknown, depth: number): string | undefined {
    if (typeof value === 'string') return this.checkStrings ? stringReason(value) : undefined;
    if (value === null || typeof value !== 'object') return undefined;
    if (depth > this.maxDepth) return `nests objects and arrays more than ${this.maxDepth} levels deep`;
    if (Array.isArray(value)) {
      for (const item of value) {
        const found = this.reason(item, depth + 1);
        if (found) return found;
      }
      return undefined;
    }
    for (const [key, inner] of Object.entries(value)) {
      const found = (this.checkStrings ? stringReason(key) : undefined) ?? this.reason(inner, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function stringReason(value: string): string | undefined {
  if (value.includes('\u0000')) return 'contains a NUL character (\\u0000), which cannot be stored';
  if (LONE_SURROGATE.test(value))
    return 'contains an unpaired UTF-16 surrogate (e.g. \\ud800), which cannot be stored';
  return undefined;
}
