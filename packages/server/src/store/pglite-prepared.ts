import { type PGlite, parse, protocol } from '@electric-sql/pglite';

const { serialize } = protocol;

export interface PreparedCall {
  name: string;
  text: string;
  params: readonly unknown[] | undefined;
}

/**
 * Named prepared statements on PGlite, which has none of its own: its `query()` parses, plans
 * and describes every statement on every call (planning alone was a third of the time of the
 * store's one-statement message insert). Here a statement is parsed and described once per
 * session; a call then binds, executes and syncs in one exchange with the backend.
 */
export class PreparedStatements {
  readonly #db: PGlite;
  /** Statement name → the type OIDs of its parameters (to serialise values as PGlite does). */
  readonly #prepared = new Map<string, number[]>();

  constructor(db: PGlite) {
    this.#db = db;
  }

  async query(call: PreparedCall): Promise<unknown[]> {
    return this.#db._runExclusiveQuery(async () => {
      const messages = await this.#exchange([...(await this.#execute(call)), serialize.sync()]);
      const error = messages.find((message) => message.name === 'error');
      if (error) throw error;
      await this.#db.syncToFs();
      return parse.parseResults(messages, this.#db.parsers)[0]?.rows ?? [];
    });
  }

  /**
   * Several calls in one exchange, one implicit transaction (one commit, one round into the
   * backend). Undefined when nothing was committed (a statement failed, and the transaction
   * rolled back as a whole, or one could not be prepared): the caller may run them one by one to
   * give each its own outcome. Once committed, each call gets its rows, or an error: never run twice.
   */
  async queryMany(calls: readonly PreparedCall[]): Promise<(unknown[] | Error)[] | undefined> {
    return this.#db._runExclusiveQuery(async () => {
      const frames: Uint8Array[] = [];
      try {
        for (const call of calls) frames.push(...(await this.#execute(call)));
      } catch {
        return undefined;
      }
      frames.push(serialize.sync());
      const messages = await this.#exchange(frames);
      if (messages.some((message) => message.name === 'error')) return undefined;
      await this.#db.syncToFs();
      const results = parse.parseResults(messages, this.#db.parsers);
      if (results.length !== calls.length) {
        const error = new Error(
          `PGlite answered ${calls.length} committed calls with ${results.length} results`,
        );
        return calls.map(() => error);
      }
      return results.map((result) => result.rows as unknown[]);
    });
  }

  /** Bind, describe and execute frames of a call, its statement prepared first if needed. */
  async #execute({ name, text, params = [] }: PreparedCall): Promise<Uint8Array[]> {
    let types = this.#prepared.get(name);
    if (!types) {
      const described = await this.#exchange([
        serialize.parse({ name, text }),
        serialize.describe({ type: 'S', name }),
        serialize.sync(),
      ]);
      const error = described.find((message) => message.name === 'error');
      if (error) throw error;
      types = parse.parseDescribeStatementResults(described);
      this.#prepared.set(name, types);
    }
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = this.#db.serializers[types[i]!];
      return serializer ? serializer(value) : String(value);
    });
    return [
      serialize.bind({ statement: name, values }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
    ];
  }

  async #exchange(frames: Uint8Array[]) {
    const { messages } = await this.#db.execProtocol(Buffer.concat(frames), { throwOnError: false });
    return messages;
  }
}
