import type { Publication } from './bus.js';

/**
 * The bodies of publications, each distinct payload serialised once: the copies of a group
 * message share one payload object (pipelines/group-message.ts), so a 500-member fan-out costs
 * one `JSON.stringify`, not 500. Payloads are never changed once handed to the bus.
 */
export function payloadBodies(events: readonly Publication[]): Buffer[] {
  const bodies = new Map<unknown, Buffer>();
  return events.map(({ payload }) => {
    let body = bodies.get(payload);
    if (body === undefined) {
      body = Buffer.from(JSON.stringify(payload));
      bodies.set(payload, body);
    }
    return body;
  });
}
