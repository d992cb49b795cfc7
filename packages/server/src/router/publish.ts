import type { MessageCopy } from '@mercurio/protocol';
import type { Publication } from '../bus/bus.js';
import type { RecordedMessage } from '../store/types.js';
import { mentions, messageCopy } from '../views.js';
import type { MessageDecision } from './decision.js';
import { unarchivedEvents } from './pipelines/archive.js';

/**
 * The publish step of a committed message: its copies, in the decided order — one payload
 * object per status, which the bus serialises once however many members share it — then the
 * events of the conversations the message brought back from the archive.
 */
export function messagePublications(decision: MessageDecision, recorded: RecordedMessage): Publication[] {
  const { app } = decision.message;
  const payloads = new Map<string, MessageCopy>();
  const { quote } = decision;
  const copies = decision.copies.map(({ user, conversWith, status }): Publication => {
    // A mentioned user's copy says so (issue 15): one more shared payload per status.
    const mentioned = mentions(recorded.message, user);
    const key = `${status}${mentioned ? '/m' : ''}`;
    let payload = payloads.get(key);
    if (!payload) {
      payload = messageCopy(recorded.message, status, mentioned ? user : undefined);
      if (quote) payload.quote = quote;
      payloads.set(key, payload);
    }
    return { topic: { kind: 'messageAdded', app, user, conversWith }, payload };
  });
  return [...copies, ...unarchivedEvents(recorded)];
}
