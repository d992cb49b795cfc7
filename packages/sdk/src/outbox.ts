/** A publish waiting for the broker's acknowledgement (PUBACK). */
export interface OutboxEntry {
  /** The message_id for messages; a unique id for other commands. */
  id: string;
  topic: string;
  /** The JSON payload, as published. */
  payload: string;
  createdAt: number;
}

/**
 * Where the outbox keeps entries, so that messages written offline survive a reload (e.g. an
 * IndexedDB or localStorage adapter in browsers, a file in Node). In memory by default.
 */
export interface OutboxStorage {
  load(): Promise<OutboxEntry[]> | OutboxEntry[];
  put(entry: OutboxEntry): Promise<void> | void;
  delete(id: string): Promise<void> | void;
}

export function memoryStorage(): OutboxStorage {
  const entries = new Map<string, OutboxEntry>();
  return {
    load: () => [...entries.values()],
    put: (entry) => {
      entries.set(entry.id, entry);
    },
    delete: (id) => {
      entries.delete(id);
    },
  };
}

/**
 * Publishes in the order they were written; an entry leaves only when the broker acknowledged
 * it, so anything unacknowledged when the connection drops goes out again on the next one (the
 * server recognises a repeated message_id).
 */
export class Outbox {
  readonly #storage: OutboxStorage;
  readonly #entries = new Map<string, OutboxEntry>();
  readonly #waiters = new Map<string, Array<{ resolve: () => void; reject: (error: Error) => void }>>();
  #loaded: Promise<void> | undefined;

  constructor(storage: OutboxStorage) {
    this.#storage = storage;
  }

  /** Reads what the storage kept from earlier sessions (once). */
  load(): Promise<void> {
    this.#loaded ??= (async () => {
      const stored = await this.#storage.load();
      for (const entry of [...stored].sort((a, b) => a.createdAt - b.createdAt)) {
        if (!this.#entries.has(entry.id)) this.#entries.set(entry.id, entry);
      }
    })();
    return this.#loaded;
  }

  async add(entry: OutboxEntry): Promise<void> {
    await this.load();
    this.#entries.set(entry.id, entry);
    await this.#storage.put(entry);
  }

  /** Resolves when the entry is acknowledged; rejects when the client is closed before that. */
  settled(id: string): Promise<void> {
    if (!this.#entries.has(id)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const list = this.#waiters.get(id) ?? [];
      list.push({ resolve, reject });
      this.#waiters.set(id, list);
    });
  }

  async acknowledged(id: string): Promise<void> {
    if (!this.#entries.delete(id)) return;
    for (const waiter of this.#waiters.get(id) ?? []) waiter.resolve();
    this.#waiters.delete(id);
    await this.#storage.delete(id);
  }

  /** Pending entries, oldest first. */
  pending(): OutboxEntry[] {
    return [...this.#entries.values()];
  }

  /** Fails every waiter (the entries stay in storage for the next session). */
  abandon(error: Error): void {
    for (const list of this.#waiters.values()) for (const waiter of list) waiter.reject(error);
    this.#waiters.clear();
  }
}
