-- Issue 15: messages people can edit, delete, reply to, react to and mention.

-- The row keeps the message's current state (its body and text: search follows the current text,
-- a tombstone's text is '' and is never found); these say when it last changed.
ALTER TABLE messages ADD COLUMN edited_at bigint;
ALTER TABLE messages ADD COLUMN deleted_at bigint;

-- Every state a message had before an edit or a delete-for-everyone, oldest first (version 1 is
-- the message as first sent): kept for the data owner, readable by admins.
CREATE TABLE message_versions (
  app_id      text    NOT NULL,
  message_id  text    NOT NULL,
  version     integer NOT NULL,
  body        jsonb   NOT NULL,
  text        text,
  -- When this version stopped being current, who changed it and how.
  replaced_at bigint  NOT NULL,
  replaced_by text    NOT NULL,
  change      text    NOT NULL CHECK (change IN ('edited', 'deleted')),
  PRIMARY KEY (app_id, message_id, version)
);

-- One row per (message, emoji, user): adding twice is one reaction. The message's body carries the
-- aggregate (counts and first users), rewritten in the same transaction as each change.
CREATE TABLE message_reactions (
  app_id     text   NOT NULL,
  message_id text   NOT NULL,
  reaction   text   NOT NULL,
  user_id    text   NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (app_id, message_id, reaction, user_id)
);
CREATE INDEX message_reactions_user_idx ON message_reactions (app_id, message_id, user_id);

-- Delete-for-me: the message stays for everyone else; this user's history shows only its seq.
CREATE TABLE message_hidden (
  app_id           text   NOT NULL,
  user_id          text   NOT NULL,
  message_id       text   NOT NULL,
  conversation_key text   NOT NULL,
  seq              bigint NOT NULL,
  hidden_at        bigint NOT NULL,
  PRIMARY KEY (app_id, user_id, message_id)
);
CREATE INDEX message_hidden_seq_idx ON message_hidden (app_id, user_id, conversation_key, seq);

-- The thread of a message: its replies in seq order (only replies are in this partial index).
CREATE INDEX messages_reply_to_idx ON messages (app_id, conversation_key, (body->>'reply_to'), seq)
  WHERE body ? 'reply_to';

-- A user mentioned in the conversation since they last read it.
ALTER TABLE conversations ADD COLUMN mentioned boolean NOT NULL DEFAULT false;
