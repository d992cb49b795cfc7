-- The data owner's policies (docs/data-policies.md): retention and legal holds, erasure jobs, the
-- audit log, blocks between users and muted conversations.

-- How long messages are kept. One row per scope: the app's default ('app'), a conversation kind
-- ('direct', 'group') or one conversation ('conversation', conversation_key set). The most specific
-- row wins; keep_days NULL means "forever" (also as an override of a shorter default); no row at
-- any level means forever.
CREATE TABLE retention_policies (
  app_id           text    NOT NULL,
  scope            text    NOT NULL CHECK (scope IN ('app', 'direct', 'group', 'conversation')),
  conversation_key text    NOT NULL DEFAULT '',
  keep_days        integer CHECK (keep_days IS NULL OR keep_days >= 1),
  updated_at       bigint  NOT NULL,
  PRIMARY KEY (app_id, scope, conversation_key),
  CHECK ((scope = 'conversation') = (conversation_key <> ''))
);

-- A legal hold suspends purging: of one conversation, or of every message a user sent or (direct)
-- received.
CREATE TABLE legal_holds (
  app_id     text   NOT NULL,
  kind       text   NOT NULL CHECK (kind IN ('conversation', 'user')),
  target     text   NOT NULL,
  reason     text,
  created_at bigint NOT NULL,
  PRIMARY KEY (app_id, kind, target)
);

-- The purge walks an app's messages oldest first (also the analytics' day ranges).
CREATE INDEX IF NOT EXISTS messages_app_created_idx ON messages (app_id, created_at);
-- A purged message's webhook events: found by their conversation (ordering key) and age.
CREATE INDEX webhook_outbox_key_idx ON webhook_outbox (app_id, ordering_key, created_at);

-- One erasure per user, resumable: each step records its counts here as it commits.
CREATE TABLE erasure_jobs (
  app_id      text   NOT NULL,
  user_id     text   NOT NULL,
  mode        text   NOT NULL CHECK (mode IN ('tombstone', 'remove')),
  status      text   NOT NULL CHECK (status IN ('running', 'done')),
  counts      jsonb  NOT NULL DEFAULT '{}'::jsonb,
  started_at  bigint NOT NULL,
  finished_at bigint,
  PRIMARY KEY (app_id, user_id)
);

-- What admins and services did: erasures, exports, policy changes, sends as another user.
CREATE TABLE audit_log (
  id      bigserial PRIMARY KEY,
  app_id  text   NOT NULL,
  actor   text   NOT NULL,
  action  text   NOT NULL,
  target  text,
  details jsonb  NOT NULL DEFAULT '{}'::jsonb,
  at      bigint NOT NULL
);
CREATE INDEX audit_log_app_idx ON audit_log (app_id, id);

-- blocker does not want to hear from blocked: no direct messages either way, no presence or typing.
CREATE TABLE user_blocks (
  app_id     text   NOT NULL,
  blocker    text   NOT NULL,
  blocked    text   NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (app_id, blocker, blocked)
);
CREATE INDEX user_blocks_blocked_idx ON user_blocks (app_id, blocked);

-- A muted conversation: new messages do not bump its unread count, and its entry says muted.
ALTER TABLE conversations ADD COLUMN muted boolean NOT NULL DEFAULT false;

-- A purged or removed message's delete-for-me rows (migration 011), found by the message.
CREATE INDEX IF NOT EXISTS message_hidden_message_idx ON message_hidden (app_id, message_id);
