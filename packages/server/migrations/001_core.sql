-- Messages are stored once; per-user state lives in conversations.

CREATE TABLE conversation_heads (
  app_id           text   NOT NULL,
  conversation_key text   NOT NULL,
  last_seq         bigint NOT NULL,
  PRIMARY KEY (app_id, conversation_key)
);

CREATE TABLE messages (
  app_id           text   NOT NULL,
  conversation_key text   NOT NULL,
  seq              bigint NOT NULL,
  message_id       text   NOT NULL,
  sender           text   NOT NULL,
  recipient        text   NOT NULL,
  channel_type     text   NOT NULL CHECK (channel_type IN ('direct', 'group')),
  body             jsonb  NOT NULL,
  text             text,
  created_at       bigint NOT NULL,
  PRIMARY KEY (app_id, conversation_key, seq),
  UNIQUE (app_id, message_id)
);

CREATE TABLE conversations (
  app_id           text    NOT NULL,
  owner            text    NOT NULL,
  convers_with     text    NOT NULL,
  conversation_key text    NOT NULL,
  channel_type     text    NOT NULL CHECK (channel_type IN ('direct', 'group')),
  last_seq         bigint  NOT NULL DEFAULT 0,
  last_message     jsonb,
  unread_count     integer NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
  read_seq         bigint  NOT NULL DEFAULT 0,
  archived         boolean NOT NULL DEFAULT false,
  is_new           boolean NOT NULL DEFAULT false,
  updated_at       bigint  NOT NULL,
  PRIMARY KEY (app_id, owner, convers_with)
);
-- The conversation list: newest first, archived or not.
CREATE INDEX conversations_list_idx ON conversations (app_id, owner, archived, updated_at DESC);
-- Every participant of a conversation (unarchive on a new message, group reads).
CREATE INDEX conversations_key_idx ON conversations (app_id, conversation_key);

CREATE TABLE groups (
  app_id     text    NOT NULL,
  group_id   text    NOT NULL,
  name       text    NOT NULL,
  owner      text    NOT NULL,
  attributes jsonb,
  volatile   boolean NOT NULL DEFAULT false,
  created_on bigint  NOT NULL,
  updated_on bigint  NOT NULL,
  PRIMARY KEY (app_id, group_id)
);

CREATE TABLE group_members (
  app_id    text   NOT NULL,
  group_id  text   NOT NULL,
  member_id text   NOT NULL,
  joined_on bigint NOT NULL,
  PRIMARY KEY (app_id, group_id, member_id),
  FOREIGN KEY (app_id, group_id) REFERENCES groups (app_id, group_id) ON DELETE CASCADE
);
-- The groups of a user.
CREATE INDEX group_members_member_idx ON group_members (app_id, member_id);

CREATE TABLE presence_clients (
  app_id       text   NOT NULL,
  user_id      text   NOT NULL,
  client_id    text   NOT NULL,
  connected_at bigint NOT NULL,
  PRIMARY KEY (app_id, user_id, client_id)
);

CREATE TABLE presence_users (
  app_id      text   NOT NULL,
  user_id     text   NOT NULL,
  status      text   NOT NULL CHECK (status IN ('online', 'offline')),
  last_online bigint,
  updated_at  bigint NOT NULL,
  PRIMARY KEY (app_id, user_id)
);
