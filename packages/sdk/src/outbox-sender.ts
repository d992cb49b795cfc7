import type { MqttClient } from 'mqtt';
import type { Emitter } from './events.js';
import type { Outbox } from './outbox.js';

/**
 * Sends what the outbox holds over the current connection: each entry once per connection, in
 * order, QoS 1; an entry leaves the outbox on PUBACK (`sent`). After a drop every unacknowledged
 * entry goes out again on the next connection (the server recognises a repeated message_id).
 */
export class OutboxSender {
  readonly #outbox: Outbox;
  readonly #client: () => MqttClient | undefined;
  readonly #emitter: Emitter;
  /** Entries handed to MQTT.js on the current connection. */
  #inFlight = new Set<string>();

  constructor(outbox: Outbox, client: () => MqttClient | undefined, emitter: Emitter) {
    this.#outbox = outbox;
    this.#client = client;
    this.#emitter = emitter;
  }

  /** Stores an entry, sends it when connected, and resolves once the broker acknowledged it. */
  async send(id: string, topic: string, payload: Record<string, unknown>): Promise<void> {
    await this.#outbox.add({ id, topic, payload: JSON.stringify(payload), createdAt: Date.now() });
    const settled = this.#outbox.settled(id);
    this.flush();
    await settled;
  }

  /** Hands every pending entry not yet in flight on this connection to MQTT.js, in order. */
  flush(): void {
    const client = this.#client();
    if (!client) return;
    const inFlight = this.#inFlight;
    for (const entry of this.#outbox.pending()) {
      if (inFlight.has(entry.id)) continue;
      inFlight.add(entry.id);
      client.publish(entry.topic, entry.payload, { qos: 1 }, (error) => {
        if (error) {
          inFlight.delete(entry.id);
          return;
        }
        void this.#outbox.acknowledged(entry.id).then(() => {
          this.#emitter.emit('sent', { id: entry.id, topic: entry.topic });
        });
      });
    }
  }

  /** A new connection (or none): nothing is in flight on it yet. */
  newConnection(): void {
    this.#inFlight = new Set();
  }
}
