import type { MessageCopy } from '@mercurio/protocol';
import { quotesFor } from '../message-actions/quotes.js';
import { conversationKey } from '../store/types.js';
import type { HttpContext } from './context.js';
import { historyCopy, type ReadState } from './views.js';

/** Where a user's view of a conversation is stored and how far they may read it. */
export interface ConversationAccess {
  key: string;
  /** Last readable seq (they left the group); null = all. */
  maxSeq: number | null;
  reads: ReadState;
}

/**
 * The messages a user can see: a direct conversation they take part in (its key contains
 * them), a group they are a member of, or a group they left — up to the moment they left. Null
 * when they cannot see it at all (a group they never were in).
 */
export async function conversationAccess(
  ctx: HttpContext,
  app: string,
  user: string,
  conversWith: string,
): Promise<ConversationAccess | null> {
  const { store } = ctx;
  const reader = await store.conversationReader(app, user, conversWith);
  const peerReadSeq = async () =>
    conversWith === user ? 0 : ((await store.getConversation(app, conversWith, user))?.readSeq ?? 0);
  if (reader) {
    const { conversation } = reader;
    const direct = conversation.channelType === 'direct';
    return {
      key: conversation.conversationKey,
      maxSeq: reader.visibleUntilSeq,
      reads: {
        viewer: user,
        viewerReadSeq: conversation.readSeq,
        peerReadSeq: direct ? await peerReadSeq() : 0,
      },
    };
  }
  const group = await store.getGroup(app, conversWith);
  if (group) {
    if (!group.members.includes(user)) return null;
    return {
      key: conversationKey('group', conversWith),
      maxSeq: null,
      reads: { viewer: user, viewerReadSeq: 0, peerReadSeq: 0 },
    };
  }
  return {
    key: conversationKey('direct', user, conversWith),
    maxSeq: null,
    reads: { viewer: user, viewerReadSeq: 0, peerReadSeq: await peerReadSeq() },
  };
}

/** A message the user hid for themself (delete-for-me): only its place in the conversation. */
export interface HiddenEntry {
  message_id: string;
  seq: number;
  hidden: true;
}

export interface HistoryPage {
  /** Oldest first, unless `newestFirst`. */
  messages: (MessageCopy | HiddenEntry)[];
  /** More messages exist beyond this page in the direction asked. */
  hasMore: boolean;
}

/** A page of history as the user's copies: below `before` / the end (newest page) or above `after`. */
export async function historyPage(
  ctx: HttpContext,
  app: string,
  user: string,
  conversWith: string,
  page: {
    before?: number | undefined;
    after?: number | undefined;
    limit: number;
    /** A seq the client has seen: the page must come from a server that holds it (read replicas). */
    min_seq?: number | undefined;
  },
): Promise<HistoryPage> {
  const access = await conversationAccess(ctx, app, user, conversWith);
  if (!access) return { messages: [], hasMore: false };
  const rows = await ctx.store.messageHistory(app, access.key, {
    viewer: user,
    limit: page.limit + 1,
    before: page.before,
    after: page.after,
    maxSeq: access.maxSeq,
    minSeq: page.min_seq,
  });
  const hasMore = rows.length > page.limit;
  const kept = rows.slice(0, page.limit);
  // Fetched newest first unless paging forward: always hand out oldest first.
  if (page.after === undefined) kept.reverse();
  // Issue 15: what the user hid keeps only its seq; a reply carries its quote as it is now.
  const hidden = await ctx.store.hiddenFor(
    app,
    user,
    kept.map((message) => message.messageId),
  );
  const quotes = await quotesFor(ctx.store, app, kept);
  const messages = kept.map((message): MessageCopy | HiddenEntry => {
    if (hidden.has(message.messageId))
      return { message_id: message.messageId, seq: message.seq, hidden: true };
    const copy = historyCopy(message, access.reads);
    const quote = quotes.get(message.messageId);
    return quote ? { ...copy, quote } : copy;
  });
  return { messages, hasMore };
}
