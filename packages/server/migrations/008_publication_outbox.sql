-- Publications written in the same transaction as the change they announce (group administration:
-- group-updated events, Chat21 info messages, history copies for a new member), then published
-- through the bus by the publication relay (src/outbox/publication-relay.ts) and deleted only after
-- the broker confirmed them: a failed publish or a crash between commit and publish loses nothing.
-- One row per change, its publications in order; rows of one ordering key go out one after another.
CREATE TABLE publication_outbox (
  id               bigserial PRIMARY KEY,
  app_id           text    NOT NULL,
  ordering_key     text    NOT NULL,
  -- [{topic, payload}, ...] as the bus takes them; message ids inside are fixed at commit.
  publications     jsonb   NOT NULL,
  created_at       bigint  NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  bigint  NOT NULL,
  -- A relay's lease: no other process publishes the row until it runs out.
  claimed_until    bigint  NOT NULL DEFAULT 0,
  last_error       text
);
CREATE INDEX publication_outbox_key_idx ON publication_outbox (app_id, ordering_key, id);
