-- The HTTP API: full-text search, paged conversation lists, left-group visibility, device instances.

-- Full-text search over message text. The 'simple' configuration lower-cases and splits words
-- without stemming or stop words: it works the same for every language (a chat app rarely knows
-- the language of a message), at the price of no "run" ~ "running" matching. Changing it means
-- a migration that rewrites this generated column and its index.
ALTER TABLE messages
  ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(text, ''))) STORED;
CREATE INDEX messages_search_idx ON messages USING gin (search_vector);

-- The conversation list paged by a (updated_at, convers_with) cursor, newest first.
DROP INDEX IF EXISTS conversations_list_idx;
CREATE INDEX conversations_list_idx ON conversations (app_id, owner, archived, updated_at DESC, convers_with DESC);

-- A member who leaves (or is removed from) a group keeps their conversation row and the history up
-- to the moment they left, but sees nothing after it: the last seq they may read. NULL = no limit.
ALTER TABLE conversations ADD COLUMN visible_until_seq bigint;

-- Chat21 route POST /:app_id/:user_id/instances/:instance_id (device registration, for push).
CREATE TABLE instances (
  app_id           text   NOT NULL,
  instance_id      text   NOT NULL,
  user_id          text   NOT NULL,
  device_model     text,
  language         text,
  platform         text,
  platform_version text,
  updated_at       bigint NOT NULL,
  PRIMARY KEY (app_id, instance_id)
);
CREATE INDEX instances_user_idx ON instances (app_id, user_id);
