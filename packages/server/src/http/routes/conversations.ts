import { z } from 'zod';
import type { ConversationRecord } from '../../store/types.js';
import { conversationView } from '../../views.js';
import { assertActsFor } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { appId, id, queryInt, userParams } from '../schemas.js';
import { decodeCursor, encodeCursor } from '../views.js';

/** Chat21's lists are the newest 200, unpaged. */
const CHAT21_LIST_SIZE = 200;
const chat21 = { flavour: 'chat21' } as const;
const tags = ['conversations'];

/** Chat21 routes 5–9 and 11, and Mercurio's paged conversation list. */
export function conversationRoutes(app: ZodApp, ctx: HttpContext): void {
  const { store } = ctx;
  const list = async (appid: string, userid: string, archived: boolean) => {
    const rows = await store.listConversations(appid, userid, { archived, limit: CHAT21_LIST_SIZE });
    return { success: true, result: rows.map(conversationView) };
  };
  const one = async (appid: string, userid: string, conversWith: string, archived: boolean) => {
    const row = await store.getConversation(appid, userid, conversWith);
    const found: ConversationRecord[] = row && row.archived === archived ? [row] : [];
    return { success: true, result: found.map(conversationView) };
  };

  app.get(
    '/:appid/:userid/conversations',
    {
      config: chat21,
      schema: { tags, summary: 'Chat21 #5: active conversations, newest 200', params: userParams },
    },
    async (request) => {
      const { appid, userid } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      return list(appid, userid, false);
    },
  );
  for (const path of ['/:appid/:userid/conversations/archived', '/:appid/:userid/archived_conversations']) {
    app.get(
      path,
      {
        config: chat21,
        schema: { tags, summary: 'Chat21 #6/#7: archived conversations, newest 200', params: userParams },
      },
      async (request) => {
        const { appid, userid } = request.params;
        assertActsFor(callerOf(request), appid, userid);
        return list(appid, userid, true);
      },
    );
  }
  const detailParams = userParams.extend({ conversWith: id('conversWith id') });
  app.get(
    '/:appid/:userid/conversations/:conversWith',
    {
      config: chat21,
      schema: { tags, summary: 'Chat21 #8: one active conversation (array of 0 or 1)', params: detailParams },
    },
    async (request) => {
      const { appid, userid, conversWith } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      return one(appid, userid, conversWith, false);
    },
  );
  app.get(
    '/:appid/:userid/archived_conversations/:conversWith',
    {
      config: chat21,
      schema: {
        tags,
        summary: 'Chat21 #9: one archived conversation (array of 0 or 1)',
        params: detailParams,
      },
    },
    async (request) => {
      const { appid, userid, conversWith } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      return one(appid, userid, conversWith, true);
    },
  );

  app.delete(
    '/:appid/conversations/:recipient_id',
    {
      config: chat21,
      schema: {
        tags,
        summary: 'Chat21 #11: archive a conversation (admins: for body.user_id)',
        params: z.object({ appid: appId(), recipient_id: id('recipient id') }),
        body: z
          .object({ user_id: id('user id').optional() })
          .loose()
          .nullish(),
      },
    },
    async (request, reply) => {
      const { appid, recipient_id: conversWith } = request.params;
      const caller = callerOf(request);
      const user = request.body?.user_id ?? caller.uid;
      assertActsFor(caller, appid, user);
      // The router archives it and tells the user's clients (conversation flow, §4.6).
      await ctx.bus.publish([
        { topic: { kind: 'archive', app: appid, user, conversWith }, payload: { action: 'archive' } },
      ]);
      return reply.code(201).send({ success: true });
    },
  );

  app.get(
    '/v1/apps/:appid/users/:userid/conversations',
    {
      schema: {
        tags,
        summary: 'Conversation list with unread counts, paged (newest first)',
        params: userParams,
        querystring: z.object({
          archived: z.enum(['true', 'false']).default('false'),
          limit: queryInt(1, ctx.settings.conversationsPageMax).default(
            Math.min(50, ctx.settings.conversationsPageMax),
          ),
          cursor: z.string().max(1024).optional(),
        }),
      },
    },
    async (request) => {
      const { appid, userid } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      const { archived, limit, cursor } = request.query;
      const rows = await store.listConversations(appid, userid, {
        archived: archived === 'true',
        limit: limit + 1,
        after: cursor === undefined ? undefined : decodeCursor(cursor),
      });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        success: true,
        result: page.map(conversationView),
        next_cursor: rows.length > limit && last ? encodeCursor(last.updatedAt, last.conversWith) : null,
      };
    },
  );
}
