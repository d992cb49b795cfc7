import type { z } from 'zod';
import { MercurioError } from '../errors.js';
import { unstorableReason, utf8Text } from '../storable-json.js';

/** What an inbound payload may be (RouterSettings carries them). */
export interface PayloadLimits {
  readonly maxPayloadBytes: number;
  readonly maxPayloadDepth: number;
}

/** Parses an inbound payload: size first (cheap), then JSON, what the store can take, then the schema. */
export function decodePayload<S extends z.ZodType>(
  body: Buffer,
  schema: S,
  limits: PayloadLimits,
): z.infer<S> {
  const maxBytes = limits.maxPayloadBytes;
  if (body.length > maxBytes) {
    throw new MercurioError('payload_too_large', `payload is ${body.length} bytes; the limit is ${maxBytes}`);
  }
  const text = utf8Text(body);
  if (text === undefined) throw new MercurioError('invalid_json', 'payload is not valid UTF-8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MercurioError('invalid_json', 'payload is not valid JSON');
  }
  const unstorable = unstorableReason(text, json, limits.maxPayloadDepth);
  if (unstorable) throw new MercurioError('invalid_payload', `payload ${unstorable}`);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : 'payload';
    throw new MercurioError('invalid_payload', `${where}: ${issue.message}`);
  }
  return parsed.data;
}

/** The client's message_id, if the payload has one, for error events. */
export function clientMessageId(body: Buffer): string | undefined {
  try {
    const json: unknown = JSON.parse(body.toString('utf8'));
    if (json && typeof json === 'object' && 'message_id' in json && typeof json.message_id === 'string') {
      return json.message_id.slice(0, 128);
    }
  } catch {
    // Not JSON: nothing to echo.
  }
  return undefined;
}
