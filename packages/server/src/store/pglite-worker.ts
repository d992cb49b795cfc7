/**
 * The worker thread that owns PGlite (see pglite-database.ts): PostgreSQL compiled to
 * WebAssembly runs synchronously on its thread, so here it no longer stalls the broker and the
 * router on the main one. Requests are answered one at a time, in the order they arrive.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, types } from '@electric-sql/pglite';
import { PreparedStatements } from './pglite-prepared.js';
import type { SerialisedError, WorkerReply, WorkerRequest } from './pglite-protocol.js';

const port = parentPort;
if (!port) throw new Error('pglite-worker.ts runs as a worker thread only');

const { dataDir } = workerData as { dataDir: string };

/** What survives the thread boundary of a database error: the fields the store looks at. */
function serialiseError(error: unknown): SerialisedError {
  const e = (error ?? {}) as Record<string, unknown>;
  const pick = (key: string) => (typeof e[key] === 'string' ? (e[key] as string) : undefined);
  return {
    message: pick('message') ?? String(error),
    code: pick('code'),
    detail: pick('detail'),
    constraint: pick('constraint'),
  };
}

async function main(): Promise<void> {
  let db: PGlite;
  try {
    db = await PGlite.create({
      dataDir,
      // bigint columns (seq, ms timestamps) fit in a double, as with node-postgres.
      parsers: { [types.INT8]: (value: string) => Number(value) },
    });
  } catch (error) {
    port!.postMessage({ id: 0, ok: false, error: serialiseError(error) } satisfies WorkerReply);
    return;
  }
  port!.postMessage({ id: 0, ok: true, rows: [] } satisfies WorkerReply);
  const prepared = new PreparedStatements(db);

  // One request at a time: PGlite has one session, and transactions span several requests.
  let queue = Promise.resolve();
  port!.on('message', (request: WorkerRequest) => {
    queue = queue.then(async () => {
      let reply: WorkerReply;
      try {
        if (request.op === 'query') {
          const rows = request.name
            ? await prepared.query(request.name, request.text, request.params)
            : (await db.query(request.text, request.params)).rows;
          reply = { id: request.id, ok: true, rows };
        } else if (request.op === 'exec') {
          await db.exec(request.script);
          reply = { id: request.id, ok: true, rows: [] };
        } else {
          await db.close();
          reply = { id: request.id, ok: true, rows: [] };
        }
      } catch (error) {
        reply = { id: request.id, ok: false, error: serialiseError(error) };
      }
      port!.postMessage(reply);
    });
  });
}

void main();
