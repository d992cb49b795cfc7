import { type PGlite, parse, protocol } from '@electric-sql/pglite';

const { serialize } = protocol;

/**
 * Named prepared statements on PGlite, which has none of its own: its `query()` parses, plans
 * and describes every statement on every call (planning alone was a third of the time of the
 * store's one-statement message insert). Here a statement is parsed and described once per
 * session; each call then binds, executes and syncs in one exchange with the backend.
 */
export class PreparedStatements {
  readonly #db: PGlite;
  /** Statement name → the type OIDs of its parameters (to serialise values as PGlite does). */
  readonly #prepared = new Map<string, number[]>();

  constructor(db: PGlite) {
    this.#db = db;
  }

  query(name: string, text: string, params: readonly unknown[] = []): Promise<unknown[]> {
    return this.#db._runExclusiveQuery(async () => {
      let types = this.#prepared.get(name);
      if (!types) {
        const described = await this.#exchange(
          serialize.parse({ name, text }),
          serialize.describe({ type: 'S', name }),
          serialize.sync(),
        );
        types = parse.parseDescribeStatementResults(described);
        this.#prepared.set(name, types);
      }
      const values = params.map((value, i) => {
        if (value === null || value === undefined) return null;
        const serializer = this.#db.serializers[types[i]!];
        return serializer ? serializer(value) : String(value);
      });
      const messages = await this.#exchange(
        serialize.bind({ statement: name, values }),
        serialize.describe({ type: 'P' }),
        serialize.execute({}),
        serialize.sync(),
      );
      await this.#db.syncToFs();
      return parse.parseResults(messages, this.#db.parsers)[0]?.rows ?? [];
    });
  }

  /** Sends protocol messages in one go; a backend error is thrown (after the Sync ran). */
  async #exchange(...frames: Uint8Array[]) {
    const { messages } = await this.#db.execProtocol(Buffer.concat(frames), { throwOnError: false });
    const error = messages.find((message) => message.name === 'error');
    if (error) throw error;
    return messages;
  }
}
