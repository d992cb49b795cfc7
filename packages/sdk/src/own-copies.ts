/**
 * The messages this client sent whose own copy (stored, with its `seq`) has not come back yet.
 *
 * With several routers (RabbitMQ's sharded queues, spread by routing key) an edit, delete or
 * reaction can be consumed by another router than the message it names, and reach it before the
 * message is stored: the server then refuses it `message_not_found`. The copy coming back to this
 * client's inbox proves the message is stored, so an action on such a message waits for it — for
 * at most `waitMs` after the broker acknowledged the message (not while offline), then goes anyway.
 */
export class OwnCopies {
  #closed = false;
  readonly #pending = new Map<
    string,
    { arrived: Promise<void>; release(): void; timer?: ReturnType<typeof setTimeout> }
  >();

  /** A message is about to be sent: actions on it wait from now on. */
  expect(messageId: string): void {
    if (this.#pending.has(messageId)) return;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#pending.set(messageId, { arrived, release });
  }

  /** The broker has the message: its copy is due, waited for at most `waitMs` from now. */
  acknowledged(messageId: string, waitMs: number): void {
    const entry = this.#pending.get(messageId);
    if (!entry || entry.timer !== undefined) return;
    entry.timer = setTimeout(() => this.arrived(messageId), Math.max(0, waitMs));
  }

  /** Its own copy came back (or the wait is over): actions on it go. */
  arrived(messageId: string): void {
    const entry = this.#pending.get(messageId);
    if (!entry) return;
    this.#pending.delete(messageId);
    clearTimeout(entry.timer);
    entry.release();
  }

  /** Resolves when actions on this message may be sent (at once for any message not pending). */
  ready(messageId: string): Promise<void> | undefined {
    return this.#pending.get(messageId)?.arrived;
  }

  /** Whether the client closed meanwhile (a released action is then not sent). */
  get closed(): boolean {
    return this.#closed;
  }

  /** The client closed: nothing waits any more. */
  releaseAll(): void {
    this.#closed = true;
    for (const id of [...this.#pending.keys()]) this.arrived(id);
  }
}
