import { z } from 'zod';
import { MercurioError } from '../../errors.js';
import { assertActsFor } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { appId, id, userParams } from '../schemas.js';

const tags = ['blocking and muting'];
const blockParams = z.object({ appid: appId(), userid: id('user id'), blocked: id('user id') });
const muteParams = z.object({ appid: appId(), userid: id('user id'), convid: id('conversation id') });

/**
 * A user's blocks and muted conversations (docs/data-policies.md, "Blocking and muting"): the user
 * themself or an admin. MQTT clients do the same with `…/conversations/<cw>/update`
 * `{blocked}` / `{muted}`.
 */
export function blockRoutes(app: ZodApp, ctx: HttpContext): void {
  app.get(
    '/v1/apps/:appid/users/:userid/blocks',
    { schema: { tags, summary: 'The users this user blocks', params: userParams } },
    async (request) => {
      const { appid, userid } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      const blocks = await ctx.store.listBlocks(appid, userid);
      return { success: true, result: blocks.map((b) => ({ user_id: b.user, since: b.since })) };
    },
  );

  app.put(
    '/v1/apps/:appid/users/:userid/blocks/:blocked',
    {
      schema: {
        tags,
        summary: 'Block a user: no direct messages either way, no presence or typing between them',
        params: blockParams,
      },
    },
    async (request) => {
      const { appid, userid, blocked } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      if (blocked === userid) throw new MercurioError('invalid_request', 'a user cannot block themself');
      const created = await ctx.store.block(appid, userid, blocked, ctx.now());
      return { success: true, result: { user_id: blocked, blocked: true, created } };
    },
  );

  app.delete(
    '/v1/apps/:appid/users/:userid/blocks/:blocked',
    { schema: { tags, summary: 'Lift a block', params: blockParams } },
    async (request) => {
      const { appid, userid, blocked } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      if (!(await ctx.store.unblock(appid, userid, blocked)))
        throw new MercurioError('not_found', `${userid} does not block ${blocked}`);
      return { success: true, result: { user_id: blocked, blocked: false } };
    },
  );

  app.put(
    '/v1/apps/:appid/users/:userid/conversations/:convid/muted',
    {
      schema: {
        tags,
        summary:
          'Mute (true) or unmute (false) a conversation: muted, new messages do not bump its unread count',
        params: muteParams,
        body: z.object({ muted: z.boolean() }).strict(),
      },
    },
    async (request) => {
      const { appid, userid, convid } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      const result = await ctx.store.setMuted(appid, userid, convid, request.body.muted);
      if (!result)
        throw new MercurioError('conversation_not_found', `${userid} has no conversation with ${convid}`);
      return { success: true, result: { conversWith: convid, muted: result.muted } };
    },
  );
}
