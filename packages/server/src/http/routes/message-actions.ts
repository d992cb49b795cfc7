import { MentionsSchema, type MessageCopy, MessageStatus } from '@mercurio/protocol';
import { z } from 'zod';
import { MercurioError } from '../../errors.js';
import { deleteMessage, editMessage, reactToMessage } from '../../message-actions/actions.js';
import type { ActionResult, Actor, MessageActionDeps } from '../../message-actions/deps.js';
import { quotesFor } from '../../message-actions/quotes.js';
import { messageCopy } from '../../views.js';
import { assertActsFor, assertAdmin, assertApp } from '../auth.js';
import { type Caller, callerOf, type HttpContext, type ZodApp } from '../context.js';
import { conversationAccess } from '../history.js';
import { appId, conversationParams, id, jsonObject, queryInt } from '../schemas.js';
import { historyCopy } from '../views.js';

const tags = ['messages'];
const messageParams = z.object({ appid: appId(), message_id: id('message id') });
const reactionParams = messageParams.extend({ reaction: z.string() });
/** An admin acts as `user_id`; a user only as themself. */
const actingAs = z.object({ user_id: id('user id').optional() });

const EditBody = z.object({
  text: z.string(),
  attributes: jsonObject.nullable().optional(),
  metadata: z.unknown().optional(),
  mentions: MentionsSchema.optional(),
});

function actorOf(caller: Caller, app: string, userId: string | undefined): Actor {
  assertApp(caller, app);
  const user = userId ?? caller.uid;
  if (user !== caller.uid) assertActsFor(caller, app, user);
  return { user, admin: caller.admin };
}

function deps(ctx: HttpContext): MessageActionDeps {
  return {
    store: ctx.store,
    settings: ctx.messageActions,
    webhooks: ctx.webhooks,
    now: ctx.now,
    attachments: ctx.attachments,
  };
}

/** Publishes the change's events, then answers with the message as the actor's inbox now has it. */
async function answer(ctx: HttpContext, actor: Actor, result: ActionResult) {
  await ctx.bus.publish(result.publications);
  const own = result.publications.find(
    (p) => p.topic.kind === 'messageUpdated' && 'user' in p.topic && p.topic.user === actor.user,
  );
  const payload =
    (own?.payload as Record<string, unknown> | undefined) ?? messageCopy(result.message, MessageStatus.SENT);
  const { timelineOf: _timeline, change: _change, ...message } = payload;
  return { success: true, result: message };
}

/** Issue 15 over HTTP: edit, delete, react, a message's replies, and (admins) its versions. */
export function messageActionRoutes(app: ZodApp, ctx: HttpContext): void {
  app.patch(
    '/v1/apps/:appid/messages/:message_id',
    {
      schema: {
        tags,
        summary: 'Edit a message (its author only, within MERCURIO_EDIT_WINDOW_SECONDS)',
        params: messageParams,
        querystring: actingAs,
        body: EditBody,
      },
    },
    async (request) => {
      const { appid, message_id } = request.params;
      const actor = actorOf(callerOf(request), appid, request.query.user_id);
      const result = await editMessage(deps(ctx), actor, { app: appid, messageId: message_id }, request.body);
      return answer(ctx, actor, result);
    },
  );

  app.delete(
    '/v1/apps/:appid/messages/:message_id',
    {
      schema: {
        tags,
        summary: 'Delete a message for everyone (author, group owner, admin) or hide it for me',
        params: messageParams,
        querystring: actingAs.extend({ for: z.enum(['everyone', 'me']).default('everyone') }),
      },
    },
    async (request) => {
      const { appid, message_id } = request.params;
      const actor = actorOf(callerOf(request), appid, request.query.user_id);
      const result = await deleteMessage(
        deps(ctx),
        actor,
        { app: appid, messageId: message_id },
        { for: request.query.for },
      );
      return answer(ctx, actor, result);
    },
  );

  for (const action of ['add', 'remove'] as const) {
    const route = {
      schema: {
        tags,
        summary: action === 'add' ? 'Add a reaction (idempotent)' : 'Remove a reaction (idempotent)',
        params: reactionParams,
        querystring: actingAs,
      },
    };
    const handler = async (request: {
      params: z.infer<typeof reactionParams>;
      query: z.infer<typeof actingAs>;
      caller: Caller | null;
    }) => {
      const { appid, message_id, reaction } = request.params;
      const actor = actorOf(callerOf(request as never), appid, request.query.user_id);
      const result = await reactToMessage(
        deps(ctx),
        actor,
        { app: appid, messageId: message_id },
        { reaction, action },
      );
      return answer(ctx, actor, result);
    };
    const path = '/v1/apps/:appid/messages/:message_id/reactions/:reaction';
    if (action === 'add') app.put(path, route, handler);
    else app.delete(path, route, handler);
  }

  const max = ctx.settings.historyPageMax;
  app.get(
    '/v1/apps/:appid/users/:userid/conversations/:convid/messages/:message_id/replies',
    {
      schema: {
        tags,
        summary: "A message's replies (its thread), oldest first, paged by seq like history",
        params: conversationParams.extend({ message_id: id('message id') }),
        querystring: z.object({
          after: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
          limit: queryInt(1, max).default(Math.min(50, max)),
        }),
      },
    },
    async (request) => {
      const { appid, userid, convid, message_id } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      const access = await conversationAccess(ctx, appid, userid, convid);
      const parent = access ? await ctx.store.findMessage(appid, message_id) : null;
      if (!access || !parent || parent.conversationKey !== access.key) {
        throw new MercurioError('message_not_found', `no message ${message_id} in this conversation`);
      }
      const { limit, after } = request.query;
      const rows = await ctx.store.replies(appid, access.key, message_id, {
        after,
        limit: limit + 1,
        maxSeq: access.maxSeq,
      });
      const page = rows.slice(0, limit);
      const hidden = await ctx.store.hiddenFor(
        appid,
        userid,
        page.map((m) => m.messageId),
      );
      const quotes = await quotesFor(ctx.store, appid, page);
      const result = page.map((message): MessageCopy | { message_id: string; seq: number; hidden: true } => {
        if (hidden.has(message.messageId))
          return { message_id: message.messageId, seq: message.seq, hidden: true };
        const copy = historyCopy(message, access.reads);
        const quote = quotes.get(message.messageId);
        return quote ? { ...copy, quote } : copy;
      });
      return {
        success: true,
        result,
        has_more: rows.length > limit,
        first_seq: page[0]?.seq ?? null,
        last_seq: page[page.length - 1]?.seq ?? null,
      };
    },
  );

  app.get(
    '/v1/apps/:appid/messages/:message_id/versions',
    {
      schema: {
        tags,
        summary: "Admins: a message's previous versions (before each edit and its deletion), oldest first",
        params: messageParams,
      },
    },
    async (request) => {
      const { appid, message_id } = request.params;
      assertAdmin(callerOf(request), appid);
      const message = await ctx.store.findMessage(appid, message_id);
      if (!message) throw new MercurioError('message_not_found', `no message ${message_id}`);
      const versions = await ctx.store.messageVersions(appid, message_id);
      return {
        success: true,
        result: {
          current: messageCopy(message, MessageStatus.SENT),
          versions: versions.map((v) => ({
            version: v.version,
            message: v.body,
            replaced_at: v.replacedAt,
            replaced_by: v.replacedBy,
            change: v.change,
          })),
        },
      };
    },
  );
}
