-- Attachments (docs/attachments.md): a file uploaded into a conversation, stored in the blob store
-- under its id (and `<id>.thumb` for an image's thumbnail) BEFORE this row is written, and this row
-- written before any message may refer to it. `message_id` is set by the router in the same
-- transaction as the message that sends it; a row still without one after
-- MERCURIO_ATTACHMENT_ORPHAN_SECONDS is an orphan, swept with its blobs.
CREATE TABLE attachments (
  app_id           text    NOT NULL,
  attachment_id    text    NOT NULL,
  owner            text    NOT NULL,
  conversation_key text    NOT NULL,
  name             text    NOT NULL,
  -- Detected from the bytes, never taken from the client.
  content_type     text    NOT NULL,
  size_bytes       bigint  NOT NULL,
  width            integer,
  height           integer,
  has_thumbnail    boolean NOT NULL DEFAULT false,
  -- A tiny blurred preview (data: URI) drawn while the image loads.
  placeholder      text,
  message_id       text,
  created_at       bigint  NOT NULL,
  sent_at          bigint,
  PRIMARY KEY (app_id, attachment_id)
);

-- The orphan sweep reads the oldest unsent uploads.
CREATE INDEX attachments_unsent ON attachments (created_at) WHERE message_id IS NULL;
-- Deleting a message (for everyone, erasure) finds its attachments.
CREATE INDEX attachments_by_message ON attachments (app_id, message_id) WHERE message_id IS NOT NULL;
