import { SYSTEM_SENDER } from '@mercurio/protocol';
import { z } from 'zod';
import { MercurioError } from '../../errors.js';
import { displayName, type UserProfile } from '../../store/profile-store.js';
import { assertActsFor, assertAdmin } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { profileFields, profileOf, saveProfile } from '../profiles.js';
import { userParams } from '../schemas.js';

const tags = ['profiles'];

/**
 * A user's display names, the ones the router puts in `sender_fullname` and `writer_fullname`
 * (a client's own are ignored). Admins set them; a user may read their own.
 */
export function profileRoutes(app: ZodApp, ctx: HttpContext): void {
  app.get(
    '/v1/apps/:appid/users/:userid/profile',
    {
      schema: {
        tags,
        summary: "A user's trusted display name (the user or an admin)",
        description:
          '`display_name` is what other users see as sender_fullname: the fullname, else firstname ' +
          'and lastname, else the user id.',
        params: userParams,
      },
    },
    async (request) => {
      const { appid, userid } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      const profile = await ctx.store.getProfile(appid, userid);
      return { success: true, result: profileView(userid, profile) };
    },
  );

  app.put(
    '/v1/apps/:appid/users/:userid/profile',
    {
      schema: {
        tags,
        summary: "Set a user's display names (admin only)",
        description:
          'Replaces the names (a name left out is cleared). Routers keep a name for up to ' +
          'MERCURIO_SENDER_NAME_CACHE_MS, so a change shows on messages within that time.',
        params: userParams,
        body: z.object(profileFields).refine((body) => profileOf(body) !== undefined, {
          message: 'give fullname, firstname or lastname',
        }),
      },
    },
    async (request) => {
      const { appid, userid } = request.params;
      assertAdmin(callerOf(request), appid);
      if (userid === SYSTEM_SENDER) {
        throw new MercurioError('reserved_id', `'${SYSTEM_SENDER}' is the sender of service messages`);
      }
      await saveProfile(ctx, appid, userid, profileOf(request.body));
      const profile = await ctx.store.getProfile(appid, userid);
      return { success: true, result: profileView(userid, profile) };
    },
  );
}

function profileView(userid: string, profile: UserProfile | null) {
  return {
    userid,
    fullname: profile?.fullname ?? null,
    firstname: profile?.firstname ?? null,
    lastname: profile?.lastname ?? null,
    display_name: displayName(userid, profile),
  };
}
