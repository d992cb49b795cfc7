import type { OutboxEntry } from '../store/types.js';
import type { WebhookEvent } from '../webhooks/events.js';
import type { RouterContext } from './context.js';

/**
 * The webhook outbox rows of ONE write, counted, so that after its commit the worker is woken only
 * if rows were written. One per write: concurrent pipelines share nothing.
 */
export function outboxRows(ctx: Pick<RouterContext, 'webhooks'>) {
  let written = 0;
  return {
    rows(events: readonly WebhookEvent[]): OutboxEntry[] {
      const entries = ctx.webhooks.entries(events);
      written += entries.length;
      return entries;
    },
    /** Call once the write committed. */
    committed(): void {
      if (written > 0) ctx.webhooks.wake();
    },
  };
}
