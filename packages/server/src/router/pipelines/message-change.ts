import {
  conversationKindOf,
  MessageDeleteSchema,
  MessageEditSchema,
  MessageReactSchema,
  type TopicOf,
} from '@mercurio/protocol';
import { deleteMessage, editMessage, reactToMessage } from '../../message-actions/actions.js';
import type { ActionResult, MessageActionDeps, Target } from '../../message-actions/deps.js';
import { conversationKey } from '../../store/types.js';
import type { Pipeline, RouterContext } from '../context.js';
import { publishOnly } from '../decision.js';
import { decodePayload } from '../decode.js';

type ChangeTopic = TopicOf<'messageEdit'> | TopicOf<'messageDelete'> | TopicOf<'messageReact'>;

/**
 * The conversation's order key, the same as its messages' (outgoing.ts): a change runs after the
 * message it changes, and its events leave in order with the conversation's copies.
 */
function orderKey(topic: ChangeTopic): string {
  const kind = conversationKindOf(undefined, topic.conversWith);
  return `${topic.app}/${kind === 'group' ? conversationKey('group', topic.conversWith) : conversationKey('direct', topic.user, topic.conversWith)}`;
}

function deps(ctx: RouterContext): MessageActionDeps {
  return {
    store: ctx.store,
    settings: ctx.messageActions,
    webhooks: ctx.webhooks,
    now: ctx.now,
    attachments: ctx.attachments,
  };
}

function target(topic: ChangeTopic): Target {
  return { app: topic.app, messageId: topic.messageId, conversWith: topic.conversWith };
}

const published = (result: ActionResult) => publishOnly(result.publications);

/** `apps/<app>/users/<me>/messages/<cw>/<message_id>/edit` `{text, attributes?, metadata?, mentions?}`. */
export const messageEditPipeline: Pipeline<'messageEdit'> = {
  orderKey,
  async run(ctx, { topic, body }) {
    const edit = decodePayload(body, MessageEditSchema, ctx.settings);
    return published(await editMessage(deps(ctx), { user: topic.user, admin: false }, target(topic), edit));
  },
};

/** `…/<message_id>/delete` `{for: "everyone" | "me"}`. */
export const messageDeletePipeline: Pipeline<'messageDelete'> = {
  orderKey,
  async run(ctx, { topic, body }) {
    const request = decodePayload(body, MessageDeleteSchema, ctx.settings);
    return published(
      await deleteMessage(deps(ctx), { user: topic.user, admin: false }, target(topic), request),
    );
  },
};

/** `…/<message_id>/react` `{reaction, action: "add" | "remove"}`. */
export const messageReactPipeline: Pipeline<'messageReact'> = {
  orderKey,
  async run(ctx, { topic, body }) {
    const request = decodePayload(body, MessageReactSchema, ctx.settings);
    return published(
      await reactToMessage(deps(ctx), { user: topic.user, admin: false }, target(topic), request),
    );
  },
};
