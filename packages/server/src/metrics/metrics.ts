import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The engine's Prometheus metrics, on a registry of its own (no global default registry). */
export interface Metrics {
  registry: Registry;
  webhookDeliveries: Counter<'event' | 'result'>;
  /** Where an inbound message's time goes in the router, by topic kind. */
  routerStage: Histogram<'kind' | 'stage'>;
  /** Inbound messages the router gave up on (the retry policy), by topic kind and failure kind. */
  deadLetters: Counter<'kind' | 'failure'>;
  /** 1 while the router's consumers are paused because its store is unavailable. */
  routerPaused: Gauge;
}

/** 0.5 ms … 8 s: a store commit on loopback is ~1 ms, a broker outage is seconds. */
const STAGE_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 8];

export function createMetrics(): Metrics {
  const registry = new Registry();
  return {
    registry,
    webhookDeliveries: new Counter({
      name: 'mercurio_webhook_deliveries_total',
      help: 'Webhook delivery attempts by event type and result (delivered, failed = will retry, dead = gave up).',
      labelNames: ['event', 'result'],
      registers: [registry],
    }),
    routerStage: new Histogram({
      name: 'mercurio_router_stage_seconds',
      help:
        'Time an inbound message spends in each router stage: queued (waiting behind earlier messages of its conversation), ' +
        'process (validate and store, retries included), confirm (events sent until the broker confirmed them all).',
      labelNames: ['kind', 'stage'],
      buckets: STAGE_BUCKETS,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'mercurio_router_dead_letters_total',
      help:
        'Inbound messages set aside after their last attempt (RabbitMQ: the <queuePrefix>.dead queue; embedded: the dead_letters table), ' +
        'by topic kind and failure (data = the database refused the data).',
      labelNames: ['kind', 'failure'],
      registers: [registry],
    }),
    routerPaused: new Gauge({
      name: 'mercurio_router_paused',
      help: '1 while the router takes no work because its database is unavailable (consumers cancelled, probing it), else 0.',
      registers: [registry],
    }),
  };
}
