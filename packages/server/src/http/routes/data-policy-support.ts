import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuditEntry } from '../../store/data-policy-store.js';
import { conversationKey } from '../../store/types.js';
import { callerOf, type HttpContext } from '../context.js';
import { id } from '../schemas.js';

/** A conversation as an admin names it: a group, or the two users of a direct conversation. */
export const conversationTarget = z.union([
  z.object({ group: id('group id') }).strict(),
  z.object({ direct: z.tuple([id('user id'), id('user id')]) }).strict(),
]);
export type ConversationTarget = z.infer<typeof conversationTarget>;

export function keyOfTarget(target: ConversationTarget): string {
  return 'group' in target
    ? conversationKey('group', target.group)
    : conversationKey('direct', target.direct[0], target.direct[1]);
}

/** Records what an admin (or service) did, as the token names them. */
export function audit(
  ctx: HttpContext,
  request: FastifyRequest,
  app: string,
  entry: Pick<AuditEntry, 'action' | 'target'> & { details?: Record<string, unknown> },
): Promise<void> {
  return ctx.store.appendAudit({
    app,
    actor: callerOf(request).uid,
    action: entry.action,
    target: entry.target,
    details: entry.details ?? {},
    at: ctx.now(),
  });
}
