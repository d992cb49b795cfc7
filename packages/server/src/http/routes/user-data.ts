import { Readable } from 'node:stream';
import { z } from 'zod';
import { MercurioError } from '../../errors.js';
import { eraseUser } from '../../policies/erasure.js';
import type { ErasureJob, ExportRecord } from '../../store/data-policy-store.js';
import { assertAdmin } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { appParams, queryInt, userParams } from '../schemas.js';
import { audit } from './data-policy-support.js';

const tags = ['data policies'];

/**
 * Admin only: a user's erasure (the right to be forgotten) and export (the right of access), and
 * the app's audit log (docs/data-policies.md). Erasures and exports are audited.
 */
export function userDataRoutes(app: ZodApp, ctx: HttpContext): void {
  app.post(
    '/v1/apps/:appid/users/:userid/erase',
    {
      schema: {
        tags,
        summary: 'Erase a user: tombstone (or remove) their messages, drop their name and rows (admin only)',
        params: userParams,
        body: z
          .object({ mode: z.enum(['tombstone', 'remove']).default('tombstone') })
          .strict()
          .nullish(),
      },
    },
    async (request) => {
      const { appid, userid } = request.params;
      assertAdmin(callerOf(request), appid);
      const mode = request.body?.mode ?? 'tombstone';
      // Audited before it starts: an erasure cut short is on record, and is resumed by asking again.
      await audit(ctx, request, appid, { action: 'user.erase', target: userid, details: { mode } });
      const job = await eraseUser(ctx.store, ctx.policies.blobs, {
        app: appid,
        user: userid,
        mode,
        now: ctx.now(),
      });
      ctx.policies.metrics?.erasures.inc({ mode });
      request.log.info({ app: appid, user: userid, counts: job.counts }, 'user erased');
      return { success: true, result: jobView(job) };
    },
  );

  app.get(
    '/v1/apps/:appid/users/:userid/erasure',
    {
      schema: { tags, summary: 'The user’s erasure job: status and counts (admin only)', params: userParams },
    },
    async (request) => {
      const { appid, userid } = request.params;
      assertAdmin(callerOf(request), appid);
      const job = await ctx.store.getErasure(appid, userid);
      if (!job) throw new MercurioError('not_found', `no erasure of ${userid} in app ${appid}`);
      return { success: true, result: jobView(job) };
    },
  );

  app.get(
    '/v1/apps/:appid/users/:userid/export',
    {
      schema: {
        tags,
        summary:
          'Everything stored of a user, as JSON Lines, streamed; the last line is {"kind":"end"} (admin only)',
        params: userParams,
      },
    },
    async (request, reply) => {
      const { appid, userid } = request.params;
      assertAdmin(callerOf(request), appid);
      await audit(ctx, request, appid, { action: 'user.export', target: userid });
      const records = ctx.store.exportUser(appid, userid, ctx.now());
      reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="${appid}-${userid}.jsonl"`);
      return reply.send(Readable.from(jsonLines(records)));
    },
  );

  app.get(
    '/v1/apps/:appid/audit',
    {
      schema: {
        tags,
        summary: 'Admin and service actions, newest first, paged (admin only)',
        params: appParams,
        querystring: z.object({
          limit: queryInt(1, 500).default(100),
          before: z
            .string()
            .regex(/^[1-9][0-9]{0,17}$/, 'an audit entry id')
            .optional(),
          action: z.string().max(64).optional(),
        }),
      },
    },
    async (request) => {
      const { appid } = request.params;
      assertAdmin(callerOf(request), appid);
      const { limit, before, action } = request.query;
      const entries = await ctx.store.listAudit(appid, { limit: limit + 1, before, action });
      const page = entries.slice(0, limit);
      return {
        success: true,
        result: page.map((e) => ({
          id: e.id,
          actor: e.actor,
          action: e.action,
          target: e.target,
          details: e.details,
          at: e.at,
        })),
        next_before: entries.length > limit ? (page[page.length - 1]?.id ?? null) : null,
      };
    },
  );
}

async function* jsonLines(records: AsyncIterable<ExportRecord>): AsyncGenerator<string> {
  for await (const record of records) yield `${JSON.stringify(record)}\n`;
}

function jobView(job: ErasureJob) {
  return {
    user_id: job.user,
    mode: job.mode,
    status: job.status,
    counts: job.counts,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
  };
}
