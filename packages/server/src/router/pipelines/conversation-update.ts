import { ConversationPatchSchema, conversationKindOf } from '@mercurio/protocol';
import { MercurioError } from '../../errors.js';
import type { Pipeline } from '../context.js';
import { publishOnly } from '../decision.js';
import { decodePayload } from '../decode.js';

/**
 * `apps/<app>/users/<me>/conversations/<cw>/update`: the client changes its own conversation.
 * `is_new` (Chat21 `$set` every key it was sent; `is_new: false` marks the conversation read and
 * clears its unread count), and Mercurio's `muted` (its new messages no longer bump the unread
 * count) and, for a direct conversation, `blocked` (block or unblock `cw`: docs/data-policies.md).
 * The change is echoed to the owner's devices.
 */
export const conversationUpdatePipeline: Pipeline<'conversationUpdate'> = {
  orderKey: (topic) => `${topic.app}/c/${topic.user}/${topic.conversWith}`,
  async run(ctx, { topic, body }) {
    const patch = decodePayload(body, ConversationPatchSchema, ctx.settings);
    if (patch.is_new === undefined && patch.muted === undefined && patch.blocked === undefined) {
      throw new MercurioError(
        'invalid_payload',
        'is_new, muted or blocked (booleans) are the conversation fields a client may change',
      );
    }
    const { app, user, conversWith } = topic;
    if (patch.blocked !== undefined) {
      if (conversWith === user || conversationKindOf(undefined, conversWith) === 'group')
        throw new MercurioError('invalid_payload', 'blocked: only the other user of a direct conversation');
      if (patch.blocked) await ctx.store.block(app, user, conversWith, ctx.now());
      else await ctx.store.unblock(app, user, conversWith);
    }
    const muted =
      patch.muted === undefined ? undefined : await ctx.store.setMuted(app, user, conversWith, patch.muted);
    if (patch.muted !== undefined && !muted) throw notFound(user, conversWith);
    const conversation =
      patch.is_new === undefined
        ? await ctx.store.getConversation(app, user, conversWith)
        : await ctx.store.patchConversation(app, user, conversWith, { isNew: patch.is_new });
    if (!conversation) {
      // Blocking someone one never talked with is fine: there is only no conversation to echo.
      if (patch.is_new === undefined && patch.muted === undefined) return publishOnly([]);
      throw notFound(user, conversWith);
    }
    return publishOnly([
      {
        topic: { kind: 'conversationUpdated', app, user, conversWith },
        payload: {
          is_new: conversation.isNew,
          timelineOf: user,
          conversWith,
          unread_count: conversation.unreadCount,
          read_seq: conversation.readSeq,
          ...(muted ? { muted: muted.muted } : {}),
          ...(patch.blocked === undefined ? {} : { blocked: patch.blocked }),
        },
      },
    ]);
  },
};

function notFound(user: string, conversWith: string): MercurioError {
  return new MercurioError('conversation_not_found', `${user} has no conversation with ${conversWith}`);
}
