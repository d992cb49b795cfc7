import { z } from 'zod';
import { assertActsFor, assertApp } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { appParams, id } from '../schemas.js';

export const API_VERSION = '0.1.0';

/** Chat21 routes 4 (getInfo) and 23 (device instances, stored for a push service). */
export function metaRoutes(app: ZodApp, ctx: HttpContext): void {
  app.get(
    '/:appid/getInfo',
    {
      config: { flavour: 'chat21' },
      schema: { tags: ['info'], summary: 'Chat21 #4: version', params: appParams },
    },
    async (request) => {
      assertApp(callerOf(request), request.params.appid);
      return { v: API_VERSION };
    },
  );

  const optionalText = z.string().max(256).nullable().optional();
  app.post(
    '/:appid/:userid/instances/:instance_id',
    {
      config: { flavour: 'chat21' },
      schema: {
        tags: ['info'],
        summary: "Chat21 #23: register a device instance (push registration token) of the caller's",
        params: z.object({
          appid: appParams.shape.appid,
          userid: id('user id'),
          // FCM registration tokens are longer than ids and contain ':'; they never become topic levels.
          instance_id: z
            .string()
            .min(1)
            .max(4096)
            .regex(/^[\x21-\x7e]+$/, 'printable ASCII only'),
        }),
        body: z
          .object({
            device_model: optionalText,
            language: optionalText,
            platform: optionalText,
            platform_version: optionalText,
          })
          .nullish(),
      },
    },
    async (request) => {
      const { appid, userid, instance_id } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      const body = request.body ?? {};
      await ctx.store.saveInstance({
        app: appid,
        user: userid,
        instanceId: instance_id,
        deviceModel: body.device_model ?? null,
        language: body.language ?? null,
        platform: body.platform ?? null,
        platformVersion: body.platform_version ?? null,
        updatedAt: ctx.now(),
      });
      return { success: true };
    },
  );
}
