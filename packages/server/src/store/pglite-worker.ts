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

  // One request at a time, in arrival order: PGlite has one session, and transactions span
  // several requests. Consecutive calls of prepared statements outside a transaction (concurrent
  // messages of different conversations) share one exchange with the backend and one commit.
  // PGlite runs synchronously: without yielding to the event loop between batches, requests
  // posted meanwhile would only be received one by one, after the queue ran dry.
  const waiting: WorkerRequest[] = [];
  let draining = false;
  const drain = async () => {
    while (waiting.length > 0) {
      for (const reply of await handle(takeBatch(waiting))) port!.postMessage(reply);
      await new Promise(setImmediate);
    }
    draining = false;
  };
  port!.on('message', (request: WorkerRequest) => {
    waiting.push(request);
    if (draining) return;
    draining = true;
    setImmediate(() => void drain());
  });

  async function handle(batch: WorkerRequest[]): Promise<WorkerReply[]> {
    if (batch.length > 1) {
      const calls = batch.map((request) => request as BatchableRequest);
      // An exchange that failed outright may or may not have committed: each call gets the error.
      const outcomes = await prepared
        .queryMany(calls)
        .catch((error: unknown) =>
          calls.map(() => (error instanceof Error ? error : new Error(String(error)))),
        );
      if (outcomes) {
        return calls.map((call, i): WorkerReply => {
          const outcome = outcomes[i]!;
          return outcome instanceof Error
            ? { id: call.id, ok: false, error: serialiseError(outcome) }
            : { id: call.id, ok: true, rows: outcome };
        });
      }
    }
    const replies: WorkerReply[] = [];
    for (const request of batch) replies.push(await handleOne(request));
    return replies;
  }

  async function handleOne(request: WorkerRequest): Promise<WorkerReply> {
    try {
      if (request.op === 'query') {
        const rows = request.name
          ? await prepared.query({ name: request.name, text: request.text, params: request.params })
          : (await db.query(request.text, request.params)).rows;
        return { id: request.id, ok: true, rows };
      }
      if (request.op === 'exec') await db.exec(request.script);
      else await db.close();
      return { id: request.id, ok: true, rows: [] };
    } catch (error) {
      return { id: request.id, ok: false, error: serialiseError(error) };
    }
  }
}

type BatchableRequest = Extract<WorkerRequest, { op: 'query' }> & { name: string };

const MAX_BATCH = 64;

function batchable(request: WorkerRequest | undefined): request is BatchableRequest {
  return request?.op === 'query' && request.name !== undefined && !request.inTransaction;
}

/** The next request, with the batchable ones right after it when it is batchable too. */
function takeBatch(waiting: WorkerRequest[]): WorkerRequest[] {
  let count = 1;
  if (batchable(waiting[0])) while (count < MAX_BATCH && batchable(waiting[count])) count++;
  return waiting.splice(0, count);
}

void main();
