import { conversationKindOf, SYSTEM_SENDER, userIdProblem } from '@mercurio/protocol';
import { z } from 'zod';
import { MercurioError } from '../../errors.js';
import { assertActsFor, assertApp } from '../auth.js';
import { type Caller, callerOf, type HttpContext, type ZodApp } from '../context.js';
import { historyPage } from '../history.js';
import { profileOf, saveProfile } from '../profiles.js';
import { appParams, conversationParams, id, jsonObject, queryInt } from '../schemas.js';

/** Chat21 route 10 answers with the newest 200, newest first. */
const CHAT21_HISTORY_SIZE = 200;
const tags = ['messages'];

const SendBody = z.object({
  sender_fullname: z.string({ error: 'Sender Fullname is mandatory' }),
  recipient_id: id('recipient id', 'Recipient id is mandatory'),
  recipient_fullname: z.string({ error: 'Recipient Fullname is mandatory' }),
  text: z.string().nullable().optional(),
  type: z.string().nullable().optional(),
  channel_type: z.enum(['direct', 'group']).optional(),
  attributes: jsonObject.nullable().optional(),
  metadata: z.unknown().optional(),
  timestamp: z.number().optional(),
  /** Admins only: send as this user, a bot or `system`. */
  sender_id: id('sender id').optional(),
  /** Mercurio: the client's UUID, so a retried request is stored once. */
  message_id: z.uuid().optional(),
});
type SendBody = z.infer<typeof SendBody>;

/** Chat21 routes 10 and 12, and Mercurio's history paged by sequence number. */
export function messageRoutes(app: ZodApp, ctx: HttpContext): void {
  app.get(
    '/:appid/:userid/conversations/:convid/messages',
    {
      config: { flavour: 'chat21' },
      schema: {
        tags,
        summary: 'Chat21 #10: the newest 200 messages, newest first',
        params: conversationParams,
      },
    },
    async (request) => {
      const { appid, userid, convid } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      const page = await historyPage(ctx, appid, userid, convid, { limit: CHAT21_HISTORY_SIZE });
      // A Chat21 client cannot draw a hidden entry (delete-for-me): it simply does not see it.
      return { success: true, result: page.messages.filter((m) => !('hidden' in m)).reverse() };
    },
  );

  app.post(
    '/:appid/messages',
    {
      config: { flavour: 'chat21' },
      schema: {
        tags,
        summary: 'Chat21 #12: send a message (admins may send as sender_id: a bot, a service, system)',
        params: appParams,
        body: SendBody,
      },
    },
    async (request) => {
      const { appid } = request.params;
      const messageId = await send(ctx, callerOf(request), appid, request.body);
      return { success: true, message_id: messageId };
    },
  );

  const max = ctx.settings.historyPageMax;
  app.get(
    '/v1/apps/:appid/users/:userid/conversations/:convid/messages',
    {
      schema: {
        tags,
        summary: 'History paged by seq: the newest page, older than `before`, or newer than `after`',
        description:
          'Messages come oldest first. Without a cursor: the newest page. `before=<seq>`: the page just ' +
          'older than that seq. `after=<seq>`: the page just newer (gap filling after a reconnect). ' +
          '`has_more` says whether more exist in the direction asked. `min_seq=<seq>`: a seq the client has ' +
          'already seen (e.g. a live copy past a gap): the page is read where that message is already stored ' +
          '(the primary when a read replica has not replayed it yet).',
        params: conversationParams,
        querystring: z
          .object({
            before: queryInt(1, Number.MAX_SAFE_INTEGER).optional(),
            after: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
            limit: queryInt(1, max).default(Math.min(50, max)),
            min_seq: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
          })
          .refine((q) => q.before === undefined || q.after === undefined, {
            message: 'give before or after, not both',
          }),
      },
    },
    async (request) => {
      const { appid, userid, convid } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      const page = await historyPage(ctx, appid, userid, convid, request.query);
      const first = page.messages[0];
      const last = page.messages[page.messages.length - 1];
      return {
        success: true,
        result: page.messages,
        has_more: page.hasMore,
        first_seq: first?.seq ?? null,
        last_seq: last?.seq ?? null,
      };
    },
  );
}

/**
 * Publishes the message on the sender's outgoing topic; the router stores and delivers it.
 * Refusals the router would make (unknown group, not a member) are made here first, so the
 * caller gets them as an HTTP answer rather than an error event in the sender's inbox.
 */
async function send(ctx: HttpContext, caller: Caller, app: string, body: SendBody): Promise<string> {
  assertApp(caller, app);
  const sender = body.sender_id ?? caller.uid;
  if (sender !== caller.uid && !caller.admin) {
    throw new MercurioError('forbidden', 'only an admin may send as another user (sender_id)');
  }
  const recipient = body.recipient_id;
  // The router's rule (no group captures a direct conversation); Chat21 route 12's default is direct.
  const kind = conversationKindOf(body.channel_type, recipient);
  if (kind === 'group') {
    const group = await ctx.store.getGroup(app, recipient);
    if (!group) throw new MercurioError('group_not_found', `group ${recipient} does not exist`);
    if (sender !== SYSTEM_SENDER && !group.members.includes(sender)) {
      throw new MercurioError('not_a_member', `${sender} is not a member of group ${recipient}`);
    }
  } else {
    const problem = sender === SYSTEM_SENDER ? undefined : userIdProblem(sender);
    if (problem) throw new MercurioError('reserved_id', problem);
    // The router's refusal too (router/pipelines/blocking.ts), answered here rather than in an inbox.
    if (sender !== recipient && (await ctx.store.blockedBetween(app, sender, recipient))) {
      throw new MercurioError('user_blocked', `${recipient} cannot receive direct messages from ${sender}`);
    }
  }
  // An admin (a service) names the sender it sends as, e.g. a bot; a user's sender_fullname is
  // replaced by the router with their trusted name.
  if (caller.admin) await saveProfile(ctx, app, sender, profileOf({ fullname: body.sender_fullname }));
  // Unknown keys were stripped by the schema: like Chat21, an inline `group` is not forwarded.
  const { sender_id: _sender, recipient_id: _recipient, ...payload } = body;
  const messageId = body.message_id ?? ctx.newId();
  const outgoing = { ...payload, channel_type: kind, message_id: messageId };
  // Refused here rather than by the router, where the caller would never hear of it.
  const bytes = Buffer.byteLength(JSON.stringify(outgoing));
  if (bytes > ctx.settings.maxMessageBytes) {
    throw new MercurioError(
      'payload_too_large',
      `the message is ${bytes} bytes; the limit is ${ctx.settings.maxMessageBytes}`,
    );
  }
  await ctx.limits.take('httpMessage', app, sender);
  // A send as another user (a bot, a service, system) is on record before it leaves: who, as whom.
  if (sender !== caller.uid) {
    await ctx.store.appendAudit({
      app,
      actor: caller.uid,
      action: 'message.send_as',
      target: sender,
      details: { message_id: messageId, recipient },
      at: ctx.now(),
    });
  }
  await ctx.bus.publish([{ topic: { kind: 'outgoing', app, user: sender, recipient }, payload: outgoing }]);
  return messageId;
}
