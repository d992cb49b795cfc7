-- Dead letters for the admin routes (docs/operations.md, "Dead letters"): one table on both
-- engines. RabbitMQ's <queuePrefix>.dead queue stays the broker-side buffer; the router moves each
-- letter from it into this table and acks it only after the insert, so `letter_key` (the AMQP
-- message id given when the letter was set aside) keeps a letter delivered twice from being kept
-- twice. `app_id` scopes an app admin to the app's own letters.
ALTER TABLE dead_letters ADD COLUMN app_id text;
UPDATE dead_letters SET app_id = split_part(topic, '/', 2);
ALTER TABLE dead_letters ALTER COLUMN app_id SET NOT NULL;
ALTER TABLE dead_letters ADD COLUMN letter_key text UNIQUE;
CREATE INDEX dead_letters_app_id ON dead_letters (app_id, id);
