import { type ConnectOptions, type EventName, MercurioClient, type MercurioEvents } from '@mercurio/sdk';
import { services } from './services.js';
import type { TestStack } from './stack.js';
import { TcpProxy } from './tcp-proxy.js';

export interface Recorded {
  name: EventName;
  event: MercurioEvents[EventName];
}

const EVENT_NAMES: EventName[] = [
  'message',
  'messageUpdated',
  'messageChanged',
  'conversationAdded',
  'conversationUpdated',
  'conversationRemoved',
  'conversationArchived',
  'conversationUnarchived',
  'groupUpdated',
  'presence',
  'typing',
  'error',
  'state',
  'uptodate',
  'sent',
];

/** An SDK client of a test stack, with every event it emitted, in order. */
export class SdkUser {
  readonly events: Recorded[] = [];

  constructor(readonly client: MercurioClient) {
    for (const name of EVENT_NAMES) client.on(name, (event) => this.events.push({ name, event }));
  }

  of<K extends EventName>(name: K): MercurioEvents[K][] {
    return this.events.filter((e) => e.name === name).map((e) => e.event as MercurioEvents[K]);
  }

  /** Texts of the messages emitted in one conversation, in emission order. */
  texts(conversWith: string): string[] {
    return this.of('message')
      .filter((m) => m.conversWith === conversWith)
      .map((m) => String(m.message.text));
  }

  async waitFor<K extends EventName>(
    name: K,
    predicate: (event: MercurioEvents[K]) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<MercurioEvents[K]> {
    let found: MercurioEvents[K] | undefined;
    await until(
      () => {
        found = this.of(name).find(predicate);
        return found !== undefined;
      },
      `${name} event`,
      timeoutMs,
    );
    return found!;
  }
}

export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Where SDK clients of a stack connect: MQTT endpoints and the HTTP API. */
export class SdkHarness {
  readonly #users: SdkUser[] = [];
  readonly #proxies: TcpProxy[] = [];

  constructor(readonly stack: TestStack) {}

  get apiEndpoint(): string {
    const url = this.stack.router?.httpUrl;
    if (!url) throw new Error('start the router with HTTP first');
    return `${url}${this.stack.config.http.basePath}`;
  }

  endpoint(transport: 'ws' | 'tcp' = 'ws'): string {
    if (this.stack.engine === 'rabbitmq') return transport === 'ws' ? services().wsUrl : services().mqttUrl;
    const mqtt = this.stack.router?.mqtt;
    if (!mqtt) throw new Error('start the router first');
    return transport === 'ws' ? mqtt.wsUrl! : mqtt.tcpUrl;
  }

  /** A TCP relay in front of the broker's MQTT port: `cut()` is the broker dropping the connection. */
  async proxy(): Promise<{ proxy: TcpProxy; endpoint: string }> {
    const target = new URL(this.endpoint('tcp'));
    const proxy = await TcpProxy.start(target.hostname, Number(target.port));
    this.#proxies.push(proxy);
    return { proxy, endpoint: `mqtt://127.0.0.1:${proxy.port}` };
  }

  async options(user: string, extra: Partial<ConnectOptions> = {}): Promise<ConnectOptions> {
    return {
      endpoint: this.endpoint('ws'),
      apiEndpoint: this.apiEndpoint,
      token: await this.stack.token(user),
      reconnectDelayMs: 100,
      maxReconnectDelayMs: 500,
      ...extra,
    };
  }

  /** Started and recording from the first state change; not waiting for the connection. */
  async start(user: string, extra: Partial<ConnectOptions> = {}): Promise<SdkUser> {
    const client = new MercurioClient(await this.options(user, extra));
    const recorder = new SdkUser(client);
    this.#users.push(recorder);
    client.start();
    return recorder;
  }

  /** Started, and connected with its first `uptodate` emitted. */
  async connect(user: string, extra: Partial<ConnectOptions> = {}): Promise<SdkUser> {
    const recorder = await this.start(user, extra);
    await recorder.waitFor('uptodate');
    return recorder;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#users.map((user) => user.client.close()));
    await Promise.allSettled(this.#proxies.map((proxy) => proxy.close()));
  }
}
