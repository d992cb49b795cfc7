import { checkId } from '@mercurio/protocol';
import { z } from 'zod';
import { assertApp } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { appParams } from '../schemas.js';

/** Presence of a set of users of the app (any user of the app may ask). */
export function presenceRoutes(app: ZodApp, ctx: HttpContext): void {
  const max = ctx.settings.presenceMax;
  app.get(
    '/v1/apps/:appid/presence',
    {
      schema: {
        tags: ['presence'],
        summary: 'Presence of up to MERCURIO_PRESENCE_MAX users: `users=a,b,c`',
        params: appParams,
        querystring: z.object({
          users: z
            .string()
            .min(1)
            .transform((value) => [...new Set(value.split(','))])
            .superRefine((users, issue) => {
              if (users.length > max) issue.addIssue({ code: 'custom', message: `at most ${max} users` });
              for (const user of users) {
                const check = checkId(user, 'user id');
                if (!check.ok) issue.addIssue({ code: 'custom', message: check.reason });
              }
            }),
        }),
      },
    },
    async (request) => {
      const { appid } = request.params;
      const caller = callerOf(request);
      assertApp(caller, appid);
      const presence = await ctx.store.getPresence(appid, request.query.users);
      // A user in a block with the caller (either way) shows as offline, never seen: as MQTT
      // presence, nothing of their comings and goings reaches the other (an admin sees all).
      const blocked = caller.admin
        ? new Set<string>()
        : new Set(await ctx.store.blockedAmong(appid, caller.uid, request.query.users));
      return {
        success: true,
        result: presence.map((p) =>
          blocked.has(p.user)
            ? { user_id: p.user, status: 'offline', last_online: null }
            : { user_id: p.user, status: p.status, last_online: p.lastOnline },
        ),
      };
    },
  );
}
