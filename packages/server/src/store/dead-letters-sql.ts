import type { DeadLetter } from '../bus/bus.js';
import type { SqlExecutor } from './sql.js';

/** Keeps a message the router gave up on in the dead_letters table (the embedded engine's place). */
export async function insertDeadLetter(db: SqlExecutor, letter: DeadLetter): Promise<void> {
  const { message } = letter;
  // MQTT form, as operators and clients write topics.
  const topic = message.form === 'amqp' ? message.topic.replaceAll('.', '/') : message.topic;
  await db.query(
    'INSERT INTO dead_letters (topic, body, attempts, error, failed_at) VALUES ($1, $2, $3, $4, $5)',
    [topic, message.body, letter.attempts, letter.error.slice(0, 1000), letter.failedAt],
  );
}
