import { mkdir } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { SerialisedError, WorkerReply, WorkerRequest } from './pglite-protocol.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';

/** A request before it is numbered. */
type Unnumbered<R> = R extends unknown ? Omit<R, 'id'> : never;
type Request = Unnumbered<WorkerRequest>;

/** A database error from the worker, with the SQLSTATE the store checks (`sqlState`). */
class PgliteError extends Error {
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly constraint: string | undefined;

  constructor(error: SerialisedError) {
    super(error.message);
    this.name = 'PgliteError';
    this.code = error.code;
    this.detail = error.detail;
    this.constraint = error.constraint;
  }
}

/**
 * PostgreSQL compiled to WebAssembly, in a data folder (or in memory with `memory://`): the
 * embedded engine's database, with the same SQL and migrations as PostgreSQL.
 *
 * PGlite runs on a worker thread of its own: its Postgres executes synchronously, and on the
 * main thread every statement stalled the embedded broker and the router (it was ~80% of the
 * main thread at the peak of the direct-message bench). One session: requests run in the order
 * sent; a transaction holds back other requests until it ends.
 */
export async function createPgliteDatabase(dataDir: string): Promise<SqlDatabase> {
  // A first start may name a folder that does not exist yet (PGlite creates one level only).
  if (!dataDir.includes('://')) await mkdir(dataDir, { recursive: true });
  const worker = startWorker({ dataDir });
  const pending = new Map<number, { resolve: (rows: unknown[]) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  let failure: Error | undefined;

  const fail = (error: Error) => {
    failure ??= error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  worker.on('message', (reply: WorkerReply) => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.rows);
    else waiter.reject(new PgliteError(reply.error));
  });
  worker.on('error', (error) => fail(new Error(`the PGlite worker failed: ${error.message}`)));
  worker.on('exit', (code) => fail(new Error(`the PGlite worker exited (code ${code})`)));

  const send = (request: Request): Promise<unknown[]> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id } as WorkerRequest);
    });
  };

  // The worker answers id 0 by itself once PGlite has opened the data folder (or failed to).
  const ready = new Promise<unknown[]>((resolve, reject) => pending.set(0, { resolve, reject }));
  await ready.catch(async (error: Error) => {
    await worker.terminate();
    throw new Error(`PGlite could not open ${dataDir}: ${error.message}`);
  });

  /** Set while a transaction is open: requests from outside it wait for this. */
  let open: Promise<void> | undefined;
  const outside = async () => {
    while (open) await open;
  };
  const executor = (inTransaction: boolean): SqlExecutor => ({
    async query<T>(text: string, params?: readonly unknown[], name?: string) {
      const values = params ? [...params] : undefined;
      return { rows: (await send({ op: 'query', text, params: values, name, inTransaction })) as T[] };
    },
    async exec(script: string) {
      await send({ op: 'exec', script });
    },
  });
  const direct = executor(false);
  const inTransaction = executor(true);

  return {
    async query<T>(text: string, params?: readonly unknown[], name?: string) {
      await outside();
      return direct.query<T>(text, params, name);
    },
    async exec(script) {
      await outside();
      await direct.exec(script);
    },
    async transaction(work) {
      await outside();
      // Synchronously after the check: no other transaction can slip in between.
      let end!: () => void;
      open = new Promise((resolve) => {
        end = resolve;
      });
      try {
        await direct.exec('BEGIN');
        const result = await work(inTransaction);
        await direct.exec('COMMIT');
        return result;
      } catch (error) {
        await direct.exec('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        open = undefined;
        end();
      }
    },
    async close() {
      await outside();
      await send({ op: 'close' }).catch(() => {});
      await worker.terminate();
    },
  };
}

/**
 * Built, the worker is pglite-worker.js beside this file. Run from the TypeScript sources (tests,
 * the bench), it is pglite-worker.ts, and the thread registers tsx first: loader hooks are per
 * thread, and `--import` in a worker's execArgv does not install them.
 */
function startWorker(workerData: { dataDir: string }): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(`./pglite-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return new Worker(url, { workerData });
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
