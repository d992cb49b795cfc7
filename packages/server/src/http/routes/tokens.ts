import { z } from 'zod';
import { signUserToken } from '../../auth/tokens.js';
import { assertAdmin } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { profileFields, profileOf, saveProfile } from '../profiles.js';
import { appParams, id } from '../schemas.js';

/**
 * Admin only: a user token with the Chat21 scope set for the app (Tiledesk's createCustomToken),
 * valid for the configured lifetime or the one asked for, up to the configured maximum.
 */
export function tokenRoutes(app: ZodApp, ctx: HttpContext): void {
  const { userTokenTtlSeconds, userTokenMaxTtlSeconds } = ctx.settings;
  app.post(
    '/v1/apps/:appid/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Issue a user token (admin only)',
        params: appParams,
        body: z.object({
          user_id: id('user id'),
          ttl_seconds: z.number().int().min(60).max(userTokenMaxTtlSeconds).optional(),
          role: z.enum(['user', 'admin']).default('user'),
          ...profileFields,
        }),
      },
    },
    async (request) => {
      const { appid } = request.params;
      assertAdmin(callerOf(request), appid);
      const body = request.body;
      const ttlSeconds = body.ttl_seconds ?? userTokenTtlSeconds;
      // One clock reading for the token's exp and the expires_at reported next to it.
      const issuedAt = ctx.now();
      const token = await signUserToken(ctx.jwt, {
        issuedAt,
        app: appid,
        user: body.user_id,
        ttlSeconds,
        role: body.role,
        names: profileOf(body),
      });
      // The names become the user's trusted display name (sender_fullname on their messages).
      await saveProfile(ctx, appid, body.user_id, profileOf(body));
      return {
        success: true,
        result: {
          userid: body.user_id,
          fullname: body.fullname ?? null,
          firstname: body.firstname ?? null,
          lastname: body.lastname ?? null,
          role: body.role,
          token,
          expires_at: Math.floor(issuedAt / 1000) + ttlSeconds,
        },
      };
    },
  );
}
