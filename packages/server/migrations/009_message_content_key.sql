-- An id-less message's identity across redeliveries and resends (docs/protocol.md, message_id): a
-- hash of its app, sender, conversation and payload bytes. Only messages sent without a
-- message_id have one, and only they enter the partial index: a message with a client id costs
-- nothing more to store, and the lookup (a redelivered or resent id-less message) finds its few
-- candidates at once.
ALTER TABLE messages ADD COLUMN content_key text;
CREATE INDEX messages_content_key_idx ON messages (content_key) WHERE content_key IS NOT NULL;
