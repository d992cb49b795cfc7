import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { ConnectionState } from './events.js';
import { secondsLeft, type TokenSource } from './token.js';

/** Answers whether the server accepts a token: true, false (refused) or undefined (cannot tell now). */
export type TokenCheck = (token: string) => Promise<boolean | undefined>;

export interface ConnectionOptions {
  /** One broker endpoint, or several (the nodes of a cluster), tried in turn after each drop. */
  endpoint: string | readonly string[];
  clientId: string;
  tokens: TokenSource;
  will: { topic: string; payload: string };
  mqttOptions: IClientOptions;
  reconnectDelayMs: number;
  maxReconnectDelayMs: number;
  checkToken: TokenCheck | undefined;
  /** A new connection was acknowledged; resolve once subscribed (the state becomes `connected`). */
  onConnect(client: MqttClient, sessionPresent: boolean): Promise<void>;
  /** Connected and subscribed (after the `connected` state was announced). */
  onReady(): void;
  onDisconnect(): void;
  onMessage(topic: string, payload: Uint8Array): void;
  onState(state: ConnectionState, reason?: string): void;
  onError(code: string, message: string, cause?: unknown): void;
}

// MQTT 3.1.1 CONNACK return codes: 4 bad user name or password, 5 not authorized.
const AUTH_REFUSALS = new Set([4, 5]);

/**
 * One MQTT connection at a time, with a stable client id and a persistent session, made again
 * after every drop (a fresh MQTT.js client each time, with a freshly fetched token) with
 * exponential backoff. An authorization refusal — CONNACK 4/5, or the broker closing the socket
 * before CONNACK while the HTTP API refuses the token too — ends in `unauthorized`, after at
 * most one retry with a refreshed token.
 */
export class Connection {
  readonly #options: ConnectionOptions;
  #client: MqttClient | undefined;
  #ready = false;
  #generation = 0;
  #failures = 0;
  /** Which of the endpoints the next attempt uses. */
  #endpointIndex = 0;
  #everConnected = false;
  #retriedWithFreshToken = false;
  #stopped = true;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ConnectionOptions) {
    this.#options = options;
  }

  /** The connected, subscribed client, or undefined. */
  get client(): MqttClient | undefined {
    return this.#ready ? this.#client : undefined;
  }

  start(): void {
    this.#stopped = false;
    this.#failures = 0;
    this.#retriedWithFreshToken = false;
    this.#options.onState(this.#everConnected ? 'reconnecting' : 'connecting');
    void this.#attempt();
  }

  async stop(beforeEnd?: (client: MqttClient) => Promise<void>): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    clearTimeout(this.#timer);
    clearTimeout(this.#refreshTimer);
    const client = this.#client;
    const ready = this.#ready;
    this.#client = undefined;
    this.#ready = false;
    if (client) {
      if (ready && beforeEnd) await beforeEnd(client).catch(() => undefined);
      await client.endAsync(!ready).catch(() => undefined);
    }
  }

  /**
   * Tries to connect at once instead of waiting out the backoff (the user asked to retry, the
   * network came back). Does nothing while connected, stopped or unauthorized.
   */
  retryNow(): void {
    if (this.#stopped || this.#ready) return;
    clearTimeout(this.#timer);
    this.#failures = 0;
    const pending = this.#client;
    this.#client = undefined;
    void this.#attempt(); // a new generation: the abandoned attempt's events are ignored
    pending?.end(true);
  }

  /** Drops the current connection and makes a new one (e.g. to use a new token). */
  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  async #attempt(): Promise<void> {
    const generation = ++this.#generation;
    const { tokens } = this.#options;
    if (tokens.hopeless()) {
      this.#unauthorized('the token has expired and there is no tokenRefresh hook');
      return;
    }
    let token: string;
    try {
      token = await tokens.get();
    } catch (cause) {
      this.#options.onError('token_refresh_failed', `tokenRefresh failed: ${String(cause)}`, cause);
      this.#retryLater(generation);
      return;
    }
    if (generation !== this.#generation) return;
    const client = mqtt.connect(this.#endpoint(), {
      protocolVersion: 4,
      username: 'JWT',
      connectTimeout: 10_000,
      keepalive: 30,
      ...this.#options.mqttOptions,
      password: token,
      clientId: this.#options.clientId,
      clean: this.#options.mqttOptions.clean ?? false,
      reconnectPeriod: 0,
      will: { topic: this.#options.will.topic, payload: this.#options.will.payload, qos: 1, retain: false },
    });
    this.#client = client;
    let connacked = false;
    let refusal: string | undefined;
    let networkError: Error | undefined;
    client.on('message', (topic, payload) => {
      if (generation === this.#generation) this.#options.onMessage(topic, payload);
    });
    client.on('error', (error: Error & { code?: unknown }) => {
      if (typeof error.code === 'number' && AUTH_REFUSALS.has(error.code)) refusal = error.message;
      else networkError = error;
    });
    client.on('connect', (connack) => {
      connacked = true;
      this.#options.onConnect(client, connack.sessionPresent).then(
        () => {
          if (generation !== this.#generation) return;
          this.#ready = true;
          this.#everConnected = true;
          this.#failures = 0;
          this.#retriedWithFreshToken = false;
          this.#options.onState('connected');
          this.#options.onReady();
          this.#scheduleRefresh(generation, client, token);
        },
        (cause: unknown) => {
          this.#options.onError('subscribe_failed', `could not subscribe: ${String(cause)}`, cause);
          client.end(true);
        },
      );
    });
    client.once('close', () => {
      client.end(true);
      clearTimeout(this.#refreshTimer);
      if (generation !== this.#generation) return;
      const wasReady = this.#ready;
      this.#ready = false;
      this.#client = undefined;
      if (wasReady) this.#options.onDisconnect();
      void this.#afterClose(generation, token, connacked, refusal, networkError);
    });
  }

  async #afterClose(
    generation: number,
    token: string,
    connacked: boolean,
    refusal: string | undefined,
    networkError: Error | undefined,
  ): Promise<void> {
    if (this.#stopped) return;
    let refused = refusal !== undefined;
    if (!connacked && !refused && this.#options.checkToken) {
      // RabbitMQ refuses a WebSocket client by closing the socket before CONNACK: a network
      // failure looks the same, so ask the HTTP API whether it accepts the token.
      refused = (await this.#options.checkToken(token).catch(() => undefined)) === false;
      if (generation !== this.#generation) return;
    }
    if (refused) {
      if (this.#options.tokens.canRefresh && !this.#retriedWithFreshToken) {
        this.#retriedWithFreshToken = true;
        try {
          await this.#options.tokens.refresh();
        } catch (cause) {
          this.#options.onError('token_refresh_failed', `tokenRefresh failed: ${String(cause)}`, cause);
        }
        if (generation === this.#generation && !this.#stopped) void this.#attempt();
        return;
      }
      this.#unauthorized(refusal ?? 'the server refused the token');
      return;
    }
    this.#options.onState(
      this.#everConnected ? 'reconnecting' : 'connecting',
      networkError?.message ?? 'connection closed',
    );
    this.#retryLater(generation);
  }

  /**
   * Brokers stop honouring a token at its `exp` (the embedded one refuses publishes, RabbitMQ
   * may disconnect): shortly before, get a new one and connect again with it.
   */
  #scheduleRefresh(generation: number, client: MqttClient, token: string): void {
    const { tokens } = this.#options;
    const left = secondsLeft(token, Date.now());
    if (!tokens.canRefresh || left === undefined) return;
    // A token shorter-lived than the margin is renewed half-way through its life.
    const dueMs =
      left > tokens.marginSeconds ? (left - tokens.marginSeconds) * 1000 : Math.max(1000, left * 500);
    const delayMs = Math.min(2 ** 31 - 1, dueMs);
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(async () => {
      if (generation !== this.#generation || this.#stopped) return;
      try {
        await tokens.refresh();
      } catch (cause) {
        this.#options.onError('token_refresh_failed', `tokenRefresh failed: ${String(cause)}`, cause);
        return;
      }
      // The close handler reconnects, with the new token.
      if (generation === this.#generation && !this.#stopped) client.end();
    }, delayMs);
  }

  #endpoint(): string {
    const { endpoint } = this.#options;
    return typeof endpoint === 'string' ? endpoint : (endpoint[this.#endpointIndex % endpoint.length] ?? '');
  }

  /**
   * The next attempt goes to the next endpoint (a lost node's clients move to another at once);
   * the pause doubles only once every endpoint was tried.
   */
  #retryLater(generation: number): void {
    const { reconnectDelayMs, maxReconnectDelayMs, endpoint } = this.#options;
    const endpoints = typeof endpoint === 'string' ? 1 : Math.max(1, endpoint.length);
    this.#endpointIndex = (this.#endpointIndex + 1) % endpoints;
    const rounds = Math.floor(this.#failures / endpoints);
    const delay = Math.min(maxReconnectDelayMs, reconnectDelayMs * 2 ** rounds);
    this.#failures = Math.min(this.#failures + 1, 20 * endpoints);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        if (generation === this.#generation && !this.#stopped) void this.#attempt();
      },
      delay * (0.5 + Math.random() / 2),
    );
  }

  #unauthorized(reason: string): void {
    this.#stopped = true;
    this.#generation++;
    this.#options.onState('unauthorized', reason);
  }
}
