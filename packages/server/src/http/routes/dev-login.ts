import { z } from 'zod';
import { signUserToken } from '../../auth/tokens.js';
import type { HttpContext, ZodApp } from '../context.js';
import { displayNameField, profileOf, saveProfile } from '../profiles.js';
import { appParams, id } from '../schemas.js';

const WARNING =
  'development login: anyone can get a token for any user. Never enable MERCURIO_DEV in production.';

/**
 * Development only (`MERCURIO_DEV=true`): a token for any user name, no password — so that the
 * embedded engine can be tried in a minute. Registered only in dev mode, and it says so.
 */
export function devLoginRoutes(app: ZodApp, ctx: HttpContext): void {
  app.post(
    '/v1/apps/:appid/dev/login',
    {
      config: { public: true },
      schema: {
        tags: ['tokens'],
        summary: 'UNSAFE, development only: a user token for a user name',
        params: appParams,
        body: z.object({ user_id: id('user id'), fullname: displayNameField.optional() }),
      },
    },
    async (request) => {
      const { appid } = request.params;
      const user = request.body.user_id;
      ctx.log.warn({ app: appid, user }, WARNING);
      const ttlSeconds = ctx.settings.userTokenTtlSeconds;
      const names = profileOf({ fullname: request.body.fullname });
      const token = await signUserToken(ctx.jwt, { app: appid, user, ttlSeconds, names });
      await saveProfile(ctx, appid, user, names);
      return { success: true, warning: WARNING, result: { userid: user, token, expires_in: ttlSeconds } };
    },
  );
}
