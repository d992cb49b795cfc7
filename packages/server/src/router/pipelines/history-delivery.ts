import { MessageStatus } from '@mercurio/protocol';
import { z } from 'zod';
import type { Pipeline } from '../context.js';
import { publishOnly } from '../decision.js';
import { decodePayload } from '../decode.js';

const HistoryMessageSchema = z.looseObject({ message_id: z.string().min(1) });

/**
 * `apps/observer/<app>/users/<user>/messages/<cw>/delivered`: a service replays a stored message
 * into one inbox (group history for a member who just joined). Marked `__history: "true"` as in
 * Chat21; nothing is stored again.
 */
export const historyDeliveryPipeline: Pipeline<'historyDelivery'> = {
  orderKey: (topic) => `${topic.app}/h/${topic.user}/${topic.conversWith}`,
  async run(ctx, { topic, body }) {
    const message = decodePayload(body, HistoryMessageSchema, ctx.settings);
    const { app, user, conversWith } = topic;
    return publishOnly([
      {
        topic: { kind: 'messageAdded', app, user, conversWith },
        payload: { ...message, status: MessageStatus.DELIVERED, __history: 'true' },
      },
    ]);
  },
};
