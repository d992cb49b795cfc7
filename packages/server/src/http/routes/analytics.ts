import { z } from 'zod';
import { MercurioError } from '../../errors.js';
import { assertAdmin } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { appParams } from '../schemas.js';

const DAY_MS = 86_400_000;
/** The longest range one request reads. */
const MAX_DAYS = 366;
const isoDay = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a UTC day, YYYY-MM-DD');

/** Admin only: the app owner's numbers from the store (docs/data-policies.md, "Analytics"). */
export function analyticsRoutes(app: ZodApp, ctx: HttpContext): void {
  app.get(
    '/v1/apps/:appid/analytics',
    {
      schema: {
        tags: ['data policies'],
        summary:
          'Messages per day and kind, active users, conversations opened, first-response time (median, p90) in direct conversations; from/to are UTC days, to included (admin only)',
        params: appParams,
        querystring: z.object({ from: isoDay.optional(), to: isoDay.optional() }),
      },
    },
    async (request) => {
      const { appid } = request.params;
      assertAdmin(callerOf(request), appid);
      const today = Math.floor(ctx.now() / DAY_MS) * DAY_MS;
      const to = request.query.to === undefined ? today + DAY_MS : dayStart(request.query.to, 'to') + DAY_MS;
      const from = request.query.from === undefined ? to - 30 * DAY_MS : dayStart(request.query.from, 'from');
      if (from >= to) throw new MercurioError('invalid_request', 'from must not be after to');
      if (to - from > MAX_DAYS * DAY_MS)
        throw new MercurioError('invalid_request', `at most ${MAX_DAYS} days per request`);
      const result = await ctx.store.appAnalytics(appid, from, to);
      return { success: true, result };
    },
  );
}

function dayStart(day: string, what: string): number {
  const at = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(at) || new Date(at).toISOString().slice(0, 10) !== day)
    throw new MercurioError('invalid_request', `${what}: ${day} is not a day`);
  return at;
}
