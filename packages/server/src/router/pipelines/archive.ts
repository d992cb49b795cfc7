import type { TopicOf } from '@mercurio/protocol';
import type { Publication } from '../../bus/bus.js';
import { MercurioError } from '../../errors.js';
import type { ConversationRecord, RecordedMessage } from '../../store/types.js';
import { conversationView } from '../../views.js';
import { conversationEvent } from '../../webhooks/events.js';
import type { Pipeline, RouterContext } from '../context.js';
import { publishOnly } from '../decision.js';
import { outboxRows } from '../outbox-rows.js';

type ArchiveTopic = TopicOf<'archive'> | TopicOf<'unarchive'>;

const orderKey = (topic: ArchiveTopic) => `${topic.app}/c/${topic.user}/${topic.conversWith}`;

async function setArchived(
  ctx: RouterContext,
  topic: ArchiveTopic,
  archived: boolean,
): Promise<ConversationRecord> {
  const type = archived ? 'conversation-archived' : 'conversation-unarchived';
  const outbox = outboxRows(ctx);
  const conversation = await ctx.store.setArchived(
    topic.app,
    topic.user,
    topic.conversWith,
    archived,
    (stored) => outbox.rows([conversationEvent(type, conversationView(stored), ctx.now())]),
  );
  outbox.committed();
  if (!conversation) {
    throw new MercurioError(
      'conversation_not_found',
      `${topic.user} has no conversation with ${topic.conversWith}`,
    );
  }
  return conversation;
}

/** `…/conversations/<cw>/archive`: out of the list, into the archived list (the payload is ignored). */
export const archivePipeline: Pipeline<'archive'> = {
  orderKey,
  async run(ctx, { topic }) {
    const view = conversationView(await setArchived(ctx, topic, true));
    const { app, user, conversWith } = topic;
    return publishOnly([
      { topic: { kind: 'conversationDeleted', app, user, conversWith }, payload: view },
      { topic: { kind: 'archivedConversationAdded', app, user, conversWith }, payload: view },
    ]);
  },
};

/** `…/conversations/<cw>/unarchive`: the reverse, announced with the events Chat21 never sends. */
export const unarchivePipeline: Pipeline<'unarchive'> = {
  orderKey,
  async run(ctx, { topic }) {
    const view = conversationView(await setArchived(ctx, topic, false));
    return publishOnly(unarchiveEvents(topic.app, view, topic.user));
  },
};

function unarchiveEvents(
  app: string,
  view: ReturnType<typeof conversationView>,
  user: string,
): Publication[] {
  const conversWith = view.conversWith;
  return [
    { topic: { kind: 'archivedConversationDeleted', app, user, conversWith }, payload: view },
    { topic: { kind: 'conversationAdded', app, user, conversWith }, payload: view },
  ];
}

/** A new message brings archived conversations back; their owners are told. */
export function unarchivedEvents(recorded: RecordedMessage): Publication[] {
  return recorded.unarchived.flatMap((conversation) =>
    unarchiveEvents(conversation.app, conversationView(conversation), conversation.owner),
  );
}
