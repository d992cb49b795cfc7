-- Webhook events, written in the same transaction as what they report, then delivered by the
-- webhook worker: one delivery row per (event, endpoint), retried with backoff, dead-lettered.

CREATE TABLE webhook_outbox (
  id               bigserial PRIMARY KEY,
  app_id           text   NOT NULL,
  event_type       text   NOT NULL,
  -- Events of one conversation reach an endpoint in the order they were written.
  ordering_key     text   NOT NULL,
  payload          jsonb  NOT NULL,
  created_at       bigint NOT NULL
);

CREATE TABLE webhook_deliveries (
  outbox_id        bigint  NOT NULL REFERENCES webhook_outbox (id) ON DELETE CASCADE,
  endpoint         text    NOT NULL,
  app_id           text    NOT NULL,
  ordering_key     text    NOT NULL,
  status           text    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  bigint  NOT NULL,
  claimed_until    bigint  NOT NULL DEFAULT 0,
  last_error       text,
  delivered_at     bigint,
  PRIMARY KEY (outbox_id, endpoint)
);
-- The worker's queue: pending deliveries, oldest first, per endpoint and conversation.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint, app_id, ordering_key, outbox_id)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
