/**
 * PostgreSQL cannot store U+0000 in `text` or `jsonb`. A payload holding one is refused where it
 * comes in (MQTT and HTTP alike): accepted, it would fail in the store on every retry, and a
 * message would block its conversation.
 */
export const NUL_REFUSAL = 'contains a NUL character (\\u0000), which cannot be stored';

/** True when `json`, parsed from `text`, holds U+0000 in a string or a key. */
export function holdsNul(text: string, json: unknown): boolean {
  // Raw NULs are not valid JSON and an escaped one always spells u0000: most payloads skip the walk.
  return text.includes('u0000') && walk(json);
}

function walk(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(walk);
  if (value && typeof value === 'object')
    return Object.entries(value).some(([key, inner]) => key.includes('\u0000') || walk(inner));
  return false;
}
