/** Messages between the store and its PGlite worker thread (pglite-worker.ts). */
export type WorkerRequest =
  | {
      id: number;
      op: 'query';
      text: string;
      params: unknown[] | undefined;
      /** A named statement is prepared once per session. */
      name: string | undefined;
      /** Part of an open transaction: never batched with other requests. */
      inTransaction: boolean;
    }
  | { id: number; op: 'exec'; script: string }
  | { id: number; op: 'close' };

/** The fields of a database error the store looks at (`code`: SQLSTATE). */
export interface SerialisedError {
  message: string;
  code: string | undefined;
  detail: string | undefined;
  constraint: string | undefined;
}

/** Id 0 answers the start: PGlite opened its data folder, or could not. */
export type WorkerReply =
  | { id: number; ok: true; rows: unknown[] }
  | { id: number; ok: false; error: SerialisedError };
