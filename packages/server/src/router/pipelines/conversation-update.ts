import { ConversationPatchSchema } from '@mercurio/protocol';
import { MercurioError } from '../../errors.js';
import type { Pipeline } from '../context.js';
import { publishOnly } from '../decision.js';
import { decodePayload } from '../decode.js';

/**
 * `apps/<app>/users/<me>/conversations/<cw>/update`: the client changes its own conversation.
 * Only `is_new` may change (Chat21 `$set` every key it was sent); `is_new: false` marks the
 * conversation read and clears its unread count. The change is echoed to the owner's devices.
 */
export const conversationUpdatePipeline: Pipeline<'conversationUpdate'> = {
  orderKey: (topic) => `${topic.app}/c/${topic.user}/${topic.conversWith}`,
  async run(ctx, { topic, body }) {
    const patch = decodePayload(body, ConversationPatchSchema, ctx.settings);
    if (patch.is_new === undefined) {
      throw new MercurioError(
        'invalid_payload',
        'is_new (boolean) is the only conversation field a client may change',
      );
    }
    const { app, user, conversWith } = topic;
    const conversation = await ctx.store.patchConversation(app, user, conversWith, { isNew: patch.is_new });
    if (!conversation) {
      throw new MercurioError('conversation_not_found', `${user} has no conversation with ${conversWith}`);
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
        },
      },
    ]);
  },
};
