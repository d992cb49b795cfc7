import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: Record<string, unknown>;
  raw: Buffer;
}

/**
 * A real MQTT 3.1.1 client as a Chat21 client uses it (JWT as password), recording everything
 * it receives so tests can wait for what a user would see.
 */
export class TestClient {
  readonly received: Received[] = [];
  readonly #client: MqttClient;
  readonly #waiters = new Set<() => void>();
  #closed = false;
  closeReason: Error | undefined;

  private constructor(client: MqttClient) {
    this.#client = client;
    client.on('message', (topic, raw) => {
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        payload = { unparsable: raw.toString('utf8') };
      }
      this.received.push({ topic, payload, raw });
      for (const wake of this.#waiters) wake();
    });
    client.on('error', (error) => {
      this.closeReason ??= error;
    });
    client.on('close', () => {
      this.#closed = true;
      for (const wake of this.#waiters) wake();
    });
  }

  static async connect(url: string, token: string, options: IClientOptions = {}): Promise<TestClient> {
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      username: 'JWT',
      password: token,
      reconnectPeriod: 0,
      // Generous: three test files share two cores, and a busy broker answers CONNACK late.
      connectTimeout: 10_000,
      keepalive: 10,
      ...options,
    });
    // Listen before CONNACK: a persistent session's queued messages arrive right with it.
    const testClient = new TestClient(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () =>
        reject(testClient.closeReason ?? new Error('connection closed before CONNACK')),
      );
    });
    return testClient;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get mqtt(): MqttClient {
    return this.#client;
  }

  async subscribe(filter: string, qos: 0 | 1 = 1): Promise<void> {
    await this.#client.subscribeAsync(filter, { qos });
  }

  async publish(topic: string, payload: unknown, qos: 0 | 1 = 1): Promise<void> {
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    await this.#client.publishAsync(topic, body, { qos });
  }

  /** Resolves with the first received message (past or future) that matches. */
  waitFor(match: (message: Received) => boolean, timeoutMs = 10_000): Promise<Received> {
    return this.waitForCount(match, 1, timeoutMs).then((all) => all[0]!);
  }

  /** Resolves once `count` matching messages have been received. */
  async waitForCount(
    match: (message: Received) => boolean,
    count: number,
    timeoutMs = 10_000,
  ): Promise<Received[]> {
    let found: Received[] = [];
    const describe = () => `${found.length} of ${count} expected messages`;
    const enough = () => {
      found = this.received.filter(match);
      return found.length >= count;
    };
    await this.waitUntil(enough, timeoutMs, describe);
    return found;
  }

  /** Resolves once `condition` holds; it is checked now and after every message received. */
  waitUntil(
    condition: () => boolean,
    timeoutMs = 10_000,
    describe = () => 'condition not met',
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        finish();
        resolve();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Resolves when the broker closes the connection (what RabbitMQ does on an ACL refusal). */
  waitForClose(timeoutMs = 5000): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connection still open')), timeoutMs);
      this.#client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async end(): Promise<void> {
    if (!this.#closed) await this.#client.endAsync(true);
  }
}
