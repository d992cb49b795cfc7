import { z } from 'zod';
import { MercurioError } from '../../errors.js';
import type { RetentionScope } from '../../store/data-policy-store.js';
import { assertAdmin } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { appParams, id } from '../schemas.js';
import { audit, conversationTarget, keyOfTarget } from './data-policy-support.js';

const tags = ['data policies'];
/** 100 years: beyond it, say "forever" (null). */
const MAX_KEEP_DAYS = 36_500;

const scopeBody = z.discriminatedUnion('scope', [
  z.object({ scope: z.enum(['app', 'direct', 'group']) }).strict(),
  z.object({ scope: z.literal('conversation'), conversation: conversationTarget }).strict(),
]);

const setBody = z.intersection(
  scopeBody,
  z.object({ keep_days: z.number().int().min(1).max(MAX_KEEP_DAYS).nullable() }),
);

const holdBody = z.union([
  z.object({ user: id('user id'), reason: z.string().max(500).optional() }).strict(),
  z.object({ conversation: conversationTarget, reason: z.string().max(500).optional() }).strict(),
]);

function scopeOf(body: z.infer<typeof scopeBody>): RetentionScope {
  return body.scope === 'conversation'
    ? { scope: 'conversation', conversationKey: keyOfTarget(body.conversation) }
    : { scope: body.scope };
}

function holdOf(body: z.infer<typeof holdBody>) {
  return 'user' in body
    ? { kind: 'user' as const, target: body.user }
    : { kind: 'conversation' as const, target: keyOfTarget(body.conversation) };
}

/**
 * Admin only: retention policies (per app, per kind, per conversation), legal holds, and a purge
 * run on demand (docs/data-policies.md). Every change is written to the audit log.
 */
export function retentionRoutes(app: ZodApp, ctx: HttpContext): void {
  app.get(
    '/v1/apps/:appid/retention',
    {
      schema: {
        tags,
        summary: 'Retention policies and legal holds of the app (admin only)',
        params: appParams,
      },
    },
    async (request) => {
      const { appid } = request.params;
      assertAdmin(callerOf(request), appid);
      const [policies, holds] = await Promise.all([
        ctx.store.listRetention(appid),
        ctx.store.listHolds(appid),
      ]);
      return {
        success: true,
        result: {
          policies: policies.map((p) => ({
            scope: p.scope,
            conversation_key: p.conversationKey,
            keep_days: p.keepDays,
            updated_at: p.updatedAt,
          })),
          legal_holds: holds.map((h) => ({
            kind: h.kind,
            target: h.target,
            reason: h.reason,
            created_at: h.createdAt,
          })),
        },
      };
    },
  );

  app.put(
    '/v1/apps/:appid/retention',
    {
      schema: {
        tags,
        summary: 'Keep messages of a scope N days, or forever (keep_days null) (admin only)',
        params: appParams,
        body: setBody,
      },
    },
    async (request) => {
      const { appid } = request.params;
      assertAdmin(callerOf(request), appid);
      const scope = scopeOf(request.body);
      const keepDays = request.body.keep_days;
      await ctx.store.setRetention(appid, scope, keepDays, ctx.now());
      await audit(ctx, request, appid, {
        action: 'retention.set',
        target: describe(scope),
        details: { keep_days: keepDays },
      });
      return { success: true, result: { scope: describe(scope), keep_days: keepDays } };
    },
  );

  app.delete(
    '/v1/apps/:appid/retention',
    {
      schema: {
        tags,
        summary: 'Remove a policy: the scope inherits the wider one again (admin only)',
        params: appParams,
        body: scopeBody,
      },
    },
    async (request) => {
      const { appid } = request.params;
      assertAdmin(callerOf(request), appid);
      const scope = scopeOf(request.body);
      const removed = await ctx.store.clearRetention(appid, scope);
      if (!removed) throw new MercurioError('not_found', `no retention policy for ${describe(scope)}`);
      await audit(ctx, request, appid, { action: 'retention.clear', target: describe(scope) });
      return { success: true, result: { scope: describe(scope), removed } };
    },
  );

  app.put(
    '/v1/apps/:appid/legal-holds',
    {
      schema: {
        tags,
        summary: 'Suspend purging of a user or a conversation (admin only)',
        params: appParams,
        body: holdBody,
      },
    },
    async (request) => {
      const { appid } = request.params;
      assertAdmin(callerOf(request), appid);
      const hold = holdOf(request.body);
      const reason = request.body.reason ?? null;
      await ctx.store.setHold(appid, hold.kind, hold.target, reason, ctx.now());
      await audit(ctx, request, appid, {
        action: 'hold.set',
        target: `${hold.kind}:${hold.target}`,
        details: { reason },
      });
      return { success: true, result: { kind: hold.kind, target: hold.target } };
    },
  );

  app.delete(
    '/v1/apps/:appid/legal-holds',
    {
      schema: { tags, summary: 'Release a legal hold (admin only)', params: appParams, body: holdBody },
    },
    async (request) => {
      const { appid } = request.params;
      assertAdmin(callerOf(request), appid);
      const hold = holdOf(request.body);
      if (!(await ctx.store.releaseHold(appid, hold.kind, hold.target)))
        throw new MercurioError('not_found', `no legal hold on ${hold.kind} ${hold.target}`);
      await audit(ctx, request, appid, { action: 'hold.release', target: `${hold.kind}:${hold.target}` });
      return { success: true, result: { kind: hold.kind, target: hold.target, released: true } };
    },
  );

  app.post(
    '/v1/apps/:appid/retention/run',
    {
      schema: {
        tags,
        summary: 'Purge the app’s expired messages now, and report (admin only)',
        params: appParams,
      },
    },
    async (request) => {
      const { appid } = request.params;
      assertAdmin(callerOf(request), appid);
      const report = await ctx.policies.purger.run(appid);
      await audit(ctx, request, appid, {
        action: 'retention.run',
        target: null,
        details: { deleted_messages: report.deletedMessages, batches: report.batches },
      });
      return { success: true, result: report };
    },
  );
}

function describe(scope: RetentionScope): string {
  return scope.scope === 'conversation' ? `conversation:${scope.conversationKey}` : scope.scope;
}
