import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * What the data policies did, for Prometheus. The app owner's analytics (messages per day, active
 * users, first-response times) are a route, not gauges: they are per app (labels without bound
 * on a shared server) and each is a range query over the store, too dear to run on every scrape.
 */
export interface PolicyMetrics {
  purged: Counter<'what'>;
  lastPurgeSeconds: Gauge;
  erasures: Counter<'mode'>;
}

export function createPolicyMetrics(registry: Registry): PolicyMetrics {
  return {
    purged: new Counter({
      name: 'mercurio_retention_purged_total',
      help: 'What the retention purge deleted: messages, webhook_events (outbox rows), attachments (blob keys).',
      labelNames: ['what'],
      registers: [registry],
    }),
    lastPurgeSeconds: new Gauge({
      name: 'mercurio_retention_last_run_seconds',
      help: 'How long the last retention purge run took.',
      registers: [registry],
    }),
    erasures: new Counter({
      name: 'mercurio_user_erasures_total',
      help: 'User erasures run (a repeated or resumed one counts again), by mode.',
      labelNames: ['mode'],
      registers: [registry],
    }),
  };
}
