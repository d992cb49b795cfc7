import { Counter, Registry } from 'prom-client';

/** The engine's Prometheus metrics, on a registry of its own (no global default registry). */
export interface Metrics {
  registry: Registry;
  webhookDeliveries: Counter<'event' | 'result'>;
}

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
  };
}
