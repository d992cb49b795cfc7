import type { MessageCopy } from '@mercurio/protocol';
import type { Publication } from '../bus/bus.js';
import type { RecordedMessage } from '../store/types.js';
import { messageCopy } from '../views.js';
import type { MessageDecision } from './decision.js';
import { unarchivedEvents } from './pipelines/archive.js';

/**
 * The publish step of a committed message: its copies, in the decided order — one payload
 * object per status, which the bus serialises once however many members share it — then the
 * events of the conversations the message brought back from the archive.
 */
export function messagePublications(decision: MessageDecision, recorded: RecordedMessage): Publication[] {
  const { app } = decision.message;
  const payloads = new Map<number, MessageCopy>();
  const copies = decision.copies.map(({ user, conversWith, status }): Publication => {
    let payload = payloads.get(status);
    if (!payload) {
      payload = messageCopy(recorded.message, status);
      payloads.set(status, payload);
    }
    return { topic: { kind: 'messageAdded', app, user, conversWith }, payload };
  });
  return [...copies, ...unarchivedEvents(recorded)];
}
