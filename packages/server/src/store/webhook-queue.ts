/** One delivery of an outbox event to one endpoint, leased by a worker. */
export interface ClaimedDelivery {
  outboxId: number;
  endpoint: string;
  attempts: number;
  type: string;
  payload: Record<string, unknown>;
}

/** The webhook outbox as the worker and operators see it (a part of `Store`). */
export interface WebhookQueue {
  claimWebhookDeliveries(
    endpoints: readonly string[],
    now: number,
    leaseMs: number,
    limit: number,
  ): Promise<ClaimedDelivery[]>;
  completeWebhookDelivery(delivery: ClaimedDelivery, now: number): Promise<void>;
  failWebhookDelivery(delivery: ClaimedDelivery, error: string, retryAt: number | null): Promise<void>;
  /** Webhook deliveries of an app by state, for operators and tests. */
  webhookDeliveryCounts(app: string): Promise<Record<'pending' | 'delivered' | 'dead', number>>;
}
