-- Messages the router gave up on (docs/architecture.md, "Retries and dead letters"): kept for
-- operators to inspect and replay. The embedded engine's dead-letter place; on RabbitMQ they go to
-- the <queuePrefix>.dead queue instead. The body is kept as bytes: it may be JSON the store refused.
CREATE TABLE dead_letters (
  id          bigserial PRIMARY KEY,
  topic       text   NOT NULL,
  body        bytea  NOT NULL,
  attempts    integer NOT NULL,
  error       text   NOT NULL,
  failed_at   bigint NOT NULL
);
