import type { DeadLetter } from '../bus/bus.js';
import type { DeadLetterStore, StoredDeadLetter } from './dead-letter-store.js';
import type { SqlDatabase } from './sql.js';

interface DeadLetterRow {
  id: string;
  app_id: string;
  topic: string;
  body: Uint8Array;
  attempts: number;
  error: string;
  failed_at: number;
}

// `id` is read as text (a bigint may pass 2^53); order by the column, never by that text.
const COLUMNS = 'id::text AS id, app_id, topic, body, attempts, error, failed_at::float8 AS failed_at';

/** The dead_letters table (migrations 006, 007) on PostgreSQL or PGlite. */
export class SqlDeadLetters implements DeadLetterStore {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async keep(letter: DeadLetter): Promise<void> {
    const { message } = letter;
    // MQTT form, as operators and clients write topics.
    const topic = message.form === 'amqp' ? message.topic.replaceAll('.', '/') : message.topic;
    await this.#db.query(
      `INSERT INTO dead_letters (app_id, topic, body, attempts, error, failed_at, letter_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (letter_key) DO NOTHING`,
      [
        // apps/<app>/…: every topic the router consumes names its app first.
        topic.split('/')[1] ?? '',
        topic,
        message.body,
        letter.attempts,
        letter.error.slice(0, 1000),
        letter.failedAt,
        letter.key ?? null,
      ],
    );
  }

  async list(app: string | undefined, page: { limit: number; after?: string }): Promise<StoredDeadLetter[]> {
    const { rows } = await this.#db.query<DeadLetterRow>(
      `SELECT ${COLUMNS} FROM dead_letters
       WHERE ($1::text IS NULL OR app_id = $1) AND id > $2::bigint
       ORDER BY dead_letters.id LIMIT $3`,
      [app ?? null, page.after ?? '0', page.limit],
    );
    return rows.map(stored);
  }

  async take(
    app: string | undefined,
    id: string,
    use: (letter: StoredDeadLetter) => Promise<void>,
  ): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      // The row stays locked until `use` settles: a second replay of the same letter waits, then
      // finds it gone (or, if `use` failed, takes it itself).
      const { rows } = await tx.query<DeadLetterRow>(
        `DELETE FROM dead_letters WHERE id = $1::bigint AND ($2::text IS NULL OR app_id = $2)
         RETURNING ${COLUMNS}`,
        [id, app ?? null],
      );
      const row = rows[0];
      if (!row) return false;
      await use(stored(row));
      return true;
    });
  }

  async drop(app: string | undefined, id: string): Promise<boolean> {
    const { rows } = await this.#db.query(
      'DELETE FROM dead_letters WHERE id = $1::bigint AND ($2::text IS NULL OR app_id = $2) RETURNING id',
      [id, app ?? null],
    );
    return rows.length > 0;
  }
}

function stored(row: DeadLetterRow): StoredDeadLetter {
  return {
    id: row.id,
    app: row.app_id,
    topic: row.topic,
    body: Buffer.from(row.body),
    attempts: row.attempts,
    error: row.error,
    failedAt: Number(row.failed_at),
  };
}
