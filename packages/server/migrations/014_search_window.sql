-- Search ranks the matches of a common word among the app's newest messages (search-sql.ts):
-- the window's start is read from this index, and the index ANDs with the word's GIN index so
-- only the matching rows inside the window are read. (Data policies' purge uses it too.)
CREATE INDEX IF NOT EXISTS messages_app_created_idx ON messages (app_id, created_at);
