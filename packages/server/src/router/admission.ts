import type { Topic } from '@mercurio/protocol';
import type { AbuseLimits, LimitedAction } from '../limits/abuse-limits.js';

/**
 * What an inbound publish costs its sender: a new message spends the messages budget; receipts,
 * typing, presence and conversation changes spend the (looser) signals budget, because each is
 * cheap to send and fanned out or written by the router. Service topics cost nothing. A presence
 * saying the client went away (a last will) is never refused: the user would stay online.
 */
export async function admit(limits: Pick<AbuseLimits, 'take'>, topic: Topic, body: Buffer): Promise<void> {
  const action = actionOf(topic, body);
  if (action && 'user' in topic) await limits.take(action, topic.app, topic.user);
}

function actionOf(topic: Topic, body: Buffer): LimitedAction | undefined {
  switch (topic.kind) {
    case 'outgoing':
    case 'messageEdit':
      return 'message';
    case 'messageDelete':
    case 'messageReact':
    case 'messageUpdate':
    case 'typing':
    case 'conversationUpdate':
    case 'archive':
    case 'unarchive':
      return 'signal';
    case 'presence':
      return saysDisconnected(body) ? undefined : 'signal';
    default:
      return undefined;
  }
}

/** Presence payloads are tiny; one that does not parse is refused by the pipeline anyway. */
function saysDisconnected(body: Buffer): boolean {
  try {
    const payload: unknown = JSON.parse(body.toString('utf8'));
    return (
      typeof payload === 'object' && payload !== null && 'disconnected' in payload && !!payload.disconnected
    );
  } catch {
    return false;
  }
}
