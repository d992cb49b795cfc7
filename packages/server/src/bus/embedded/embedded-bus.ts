import type { EventEmitter } from 'node:events';
import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTopic } from '@mercurio/protocol';
import { Aedes, type AuthenticateError, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { Logger } from '../../logger.js';
import type {
  Bus,
  ConsumerSpec,
  DeadLetter,
  InboundHandler,
  InProcessBroker,
  PausableConsumption,
  Publication,
} from '../bus.js';
import { payloadBodies } from '../payload-bodies.js';
import { ClientAdmission } from './client-admission.js';
import { type ClientGrant, checkClientToken, type TokenRules } from './client-token.js';
import { type ConnectionBoundExceeded, guardConnection } from './connection-guard.js';
import { Consumers, type Delivery } from './consumers.js';
import { TcpListener, WebSocketListener } from './listeners.js';
import { mayPublish, maySubscribe, normalizeFilter, normalizeTopic } from './topic-acl.js';

export interface EmbeddedBusOptions {
  /** The JWT rules of RabbitMQ's OAuth2 plugin: the HS256 secret and the resource server id. */
  jwt: TokenRules;
  /** MQTT over TCP (port 0: any free port, see `tcpPort`). Omitted: no TCP listener. */
  tcp?: { port: number; host: string };
  /**
   * MQTT over WebSocket at `/ws` on an HTTP server of its own (port 0 allowed, see
   * `webSocketPort`). To share the HTTP API's server instead, call `attachWebSocket`.
   */
  webSocket?: { port: number; host: string };
  /** How long a failed message waits before it is retried, or before its client is disconnected. */
  retryDelayMs: number;
  log: Logger;
  now?: () => number;
  /**
   * An Aedes persistence for sessions, offline messages and wills (default: Aedes' in-memory
   * one, lost when the process stops); e.g. `aedes-persistence-level` to keep them on disk.
   */
  persistence?: unknown;
  /** What one client may cost the broker (defaults: `DEFAULT_CLIENT_LIMITS`). */
  limits?: Partial<ClientLimits>;
  /** Keeps a message the router gave up on (the engine writes it to the dead_letters table). */
  deadLetters?: (letter: DeadLetter) => Promise<void>;
}

/** Bounds that keep a hostile, stuck or slow client from costing anyone but itself. */
export interface ClientLimits {
  /** Largest MQTT packet a client may send; a larger one closes its connection. */
  maxPacketBytes: number;
  /** Bytes waiting to be written to a client before it counts as stuck and is disconnected. */
  maxOutgoingBytes: number;
  /** Concurrent connections per user (token subject and scopes); more are refused at CONNECT. */
  maxConnectionsPerUser: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  maxPacketBytes: 64 * 1024 + 65_535 + 9,
  maxOutgoingBytes: 8 * 1024 * 1024,
  maxConnectionsPerUser: 32,
};

/** setTimeout's longest delay; a later token expiry re-arms the timer. */
const MAX_TIMER_MS = 2_147_483_647;

/** CONNACK "server unavailable", for connections that arrive while the bus closes. */
const CONNACK_SERVER_UNAVAILABLE = 3;
/** Remembered (client id, packet id) pairs of failed publishes, to flag their resend as redelivered. */
const MAX_REMEMBERED_FAILURES = 10_000;

/** Who a connection acts for: the same user of the same app, whichever of their tokens. */
function principalOf(grant: ClientGrant): string {
  return `${grant.subject}\u0000${[...grant.scopes].sort().join(' ')}`;
}

function refusal(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * The Bus inside the Mercurio process: an Aedes MQTT 3.1.1 broker (TCP and WebSocket) that
 * authenticates and authorizes clients exactly as RabbitMQ with its OAuth2 plugin does, and hands
 * inbound topics to the router in-process.
 *
 * At least once, as on RabbitMQ:
 * - A client's QoS 1 publish on a consumed topic is handed to the consumer from Aedes' publish
 *   authorization hook, which Aedes waits for before it sends the PUBACK: the client is
 *   acknowledged only after the handler resolved (the store committed, the events were
 *   published). When the handler rejects, the client is disconnected without a PUBACK, after
 *   `retryDelayMs`; MQTT clients resend unacknowledged QoS 1 publishes when they reconnect
 *   (mqtt.js does with its default reconnect), and that resend is the redelivery. A client that
 *   never comes back takes its message with it; one that reconnects elsewhere delivers it there.
 * - What no client would resend — services' publications of inbound kinds, last wills, QoS 0
 *   publishes — is retried in memory until a handler accepts it. That queue dies with the
 *   process; RabbitMQ's durable queues survive it.
 * - `spec.prefetch` bounds the handlers running per consumer; the rest wait in arrival order
 *   (and their clients for their PUBACK). Aedes reads no further packets from a client while one
 *   of its publishes waits.
 *
 * Refusals are RabbitMQ's: a bad token is refused at CONNECT; a publish or subscribe outside
 * the token's scopes, or after the token expired, closes the connection (MQTT 3.1.1 has no
 * per-publish refusal).
 *
 * Beyond RabbitMQ, each client may cost only itself (`ClientLimits`): a client that does not
 * read is disconnected once `maxOutgoingBytes` wait for it, and Aedes never waits for its socket
 * (connection-guard.ts); packets over `maxPacketBytes` and retained publishes close the
 * connection; a client id belongs to the user holding it, and a user has at most
 * `maxConnectionsPerUser` connections (client-admission.ts); a connection is closed when its
 * token expires. Topics are normalized the way RabbitMQ routes them ('.' separates
 * levels). Persistent sessions (clean=false, QoS 1) use Aedes' in-memory persistence: what
 * waits for an offline client is lost when the process stops.
 */
export class EmbeddedBus implements Bus {
  readonly #options: EmbeddedBusOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #grants = new WeakMap<Client, ClientGrant>();
  /** Failed attempts per (client id, packet id), to count and flag their resends. */
  readonly #failedPublishes = new Map<string, number>();
  /** Client publishes handled, on their way to PUBACK and routing (see `#awaitAcknowledgement`). */
  readonly #acknowledging = new Map<PublishPacket, { done: () => void; acknowledged: Promise<void> }>();
  readonly #consumers: Consumers;
  readonly #webSockets: WebSocketListener[] = [];
  readonly #limits: ClientLimits;
  readonly #admission: ClientAdmission<Client>;
  #aedes!: Aedes;
  #tcp: TcpListener | undefined;
  #webSocketPort: number | undefined;
  /** Closing: no new connections, no new client deliveries. */
  #draining = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  /**
   * Pausing stops dispatching: deliveries wait in this process until resumed (no other process
   * could take them; the router keeps what it holds until its store answers).
   */
  readonly pausable: PausableConsumption = {
    pause: async () => this.#consumers.pause(),
    resume: async () => this.#consumers.resume(),
  };

  private constructor(options: EmbeddedBusOptions) {
    this.#options = options;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#consumers = new Consumers({ retryDelayMs: options.retryDelayMs, log: options.log, now: this.#now });
    this.#limits = { ...DEFAULT_CLIENT_LIMITS, ...options.limits };
    this.#admission = new ClientAdmission(this.#limits.maxConnectionsPerUser);
  }

  /** Starts the broker and its listeners; rejects (e.g. port in use) with nothing left running. */
  static async start(options: EmbeddedBusOptions): Promise<EmbeddedBus> {
    const bus = new EmbeddedBus(options);
    bus.#aedes = await Aedes.createBroker({
      // RabbitMQ takes client ids of any length; Aedes' default is MQTT 3.1's 23 characters.
      maxClientsIdLength: 65_535,
      ...(options.persistence === undefined ? {} : { persistence: options.persistence }),
      authenticate: (client, _username, password, done) => bus.#authenticate(client, password, done),
      authorizePublish: (client, packet, done) => bus.#authorizePublish(client, packet, done),
      authorizeSubscribe: (client, subscription, done) => bus.#authorizeSubscribe(client, subscription, done),
      published: (packet, _client, done) => {
        bus.#acknowledging.get(packet)?.done();
        done(null);
      },
    });
    // Aedes' typings omit the 'error' event (persistence failures).
    (bus.#aedes as EventEmitter).on('error', (error: Error) =>
      options.log.error({ err: error }, 'embedded broker error'),
    );
    bus.#aedes.on('clientError', (client, error) =>
      options.log.debug({ err: error, clientId: client.id }, 'MQTT client error'),
    );
    try {
      const handle = bus.#handle;
      if (options.tcp) bus.#tcp = await TcpListener.open(options.tcp.port, options.tcp.host, handle);
      if (options.webSocket) {
        const { listener, port } = await WebSocketListener.open(
          options.webSocket.port,
          options.webSocket.host,
          '/ws',
          handle,
          bus.#webSocketMaxPayload,
        );
        bus.#webSockets.push(listener);
        bus.#webSocketPort = port;
      }
    } catch (error) {
      await bus.close();
      throw error;
    }
    return bus;
  }

  /** It serves MQTT itself: over TCP, and over WebSocket on a server it is given. */
  get inProcess(): InProcessBroker {
    return this;
  }

  /** The bound port of the TCP listener, if there is one. */
  get tcpPort(): number | undefined {
    return this.#tcp?.port;
  }

  /** The bound port of the WebSocket listener's own HTTP server, if there is one. */
  get webSocketPort(): number | undefined {
    return this.#webSocketPort;
  }

  /** Serves MQTT over WebSocket on `server` (e.g. the HTTP API's) at `path`; other paths are left alone. */
  attachWebSocket(server: HttpServer, path = '/ws'): void {
    if (this.#draining) throw new Error('the embedded bus is closing');
    this.#webSockets.push(new WebSocketListener(server, path, this.#handle, this.#webSocketMaxPayload));
  }

  /** Every connection, TCP or WebSocket, reaches Aedes through a guard of its bounds. */
  readonly #handle = (stream: Duplex, request?: IncomingMessage): void => {
    const guarded = guardConnection(stream, this.#limits, (error: ConnectionBoundExceeded) => {
      const client = (guarded as Duplex & { client?: Client }).client;
      this.#log.warn(
        { clientId: client?.id, bound: error.bound, reason: error.message },
        'MQTT client disconnected',
      );
    });
    this.#aedes.handle(guarded, request as Parameters<Aedes['handle']>[1]);
  };

  /**
   * A WebSocket message may carry a packet and the start of the next: twice the packet bound
   * keeps ws from buffering huge frames while never splitting legitimate traffic.
   */
  get #webSocketMaxPayload(): number {
    return 2 * this.#limits.maxPacketBytes;
  }

  async consume(spec: ConsumerSpec, handler: InboundHandler): Promise<void> {
    if (this.#draining) throw new Error('the embedded bus is closing');
    this.#consumers.add(spec, handler);
  }

  async publish(events: readonly Publication[]): Promise<void> {
    if (this.#closed) throw new Error('the embedded bus is closed');
    const bodies = payloadBodies(events);
    const packets = events.map((event, i) => ({
      topic: formatTopic(event.topic, 'mqtt'),
      payload: bodies[i]!,
    }));
    // An inbound kind published by a service goes to its consumer, as amq.topic routes it to the
    // router's queue; in order, before anything else can interleave.
    for (const { topic, payload } of packets) {
      const targets = this.#consumers.targets(topic);
      if (targets.length > 0) {
        void this.#consumers.deliverRetrying(targets, {
          topic,
          body: payload,
          redelivered: false,
          retransmitted: false,
          attempts: 0,
          receivedAt: this.#now(),
        });
      }
    }
    await Promise.all(
      packets.map(
        ({ topic, payload }) =>
          new Promise<void>((resolve, reject) => {
            this.#aedes.publish(
              { cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false },
              (error) => (error ? reject(error) : resolve()),
            );
          }),
      ),
    );
  }

  async deadLetter(letter: DeadLetter): Promise<void> {
    if (!this.#options.deadLetters) throw new Error('no dead-letter place configured');
    await this.#options.deadLetters(letter);
  }

  /**
   * Stops accepting connections and client deliveries; lets the handlers in flight finish (their
   * clients get their PUBACK); closes the clients (their wills are handled); closes the broker.
   * Messages still failing get one last attempt and are then dropped (logged).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#draining = true;
    this.#consumers.stopRetrying();
    this.#tcp?.stopAccepting();
    for (const listener of this.#webSockets) listener.stopAccepting();
    await this.#consumers.drain();
    await Promise.all([...this.#acknowledging.values()].map(({ acknowledged }) => acknowledged));
    const aedes = this.#aedes as Aedes | undefined;
    if (aedes) {
      const clients = Object.values((aedes as unknown as { clients: Record<string, Client> }).clients);
      await Promise.all(
        clients.map((client) => new Promise<void>((resolve) => client.close(() => resolve()))),
      );
      await this.#consumers.drain();
      this.#closed = true;
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    }
    this.#closed = true;
    await this.#tcp?.destroyConnections();
    await Promise.all(this.#webSockets.map((listener) => listener.destroyConnections()));
  }

  #authenticate(
    client: Client,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    if (this.#draining) {
      done(refusal('the broker is shutting down', CONNACK_SERVER_UNAVAILABLE), false);
      return;
    }
    checkClientToken(this.#options.jwt, password).then(
      (check) => {
        if (check.ok) {
          const admission = this.#admission.admit(
            client,
            principalOf(check.grant),
            (this.#aedes as unknown as { clients: Record<string, Client> }).clients[client.id],
          );
          if (!admission.ok) {
            this.#log.warn(
              { clientId: client.id, user: check.grant.subject, reason: admission.reason },
              'MQTT connection refused',
            );
            done(refusal(admission.reason, admission.code), false);
            return;
          }
          this.#grants.set(client, check.grant);
          const expiry = this.#closeAtExpiry(client, check.grant);
          client.conn.once('close', () => {
            clearTimeout(expiry.timer);
            this.#admission.release(client);
          });
          done(null, true);
        } else {
          this.#log.info({ clientId: client.id, reason: check.reason }, 'MQTT connection refused');
          done(refusal(check.reason, check.code), false);
        }
      },
      (error: unknown) => {
        this.#log.error({ err: error }, 'token check failed');
        done(refusal('token check failed', CONNACK_SERVER_UNAVAILABLE), false);
      },
    );
  }

  /**
   * Closes the connection when its token expires (its will is published, as for any connection
   * lost); a client that reconnected with a fresh token is another connection with its own timer.
   */
  #closeAtExpiry(client: Client, grant: ClientGrant): { timer: NodeJS.Timeout | undefined } {
    const expiry: { timer: NodeJS.Timeout | undefined } = { timer: undefined };
    const arm = () => {
      const remaining = grant.expiresAtMs - this.#now();
      expiry.timer = setTimeout(
        () => {
          if (grant.expiresAtMs > this.#now()) {
            arm();
            return;
          }
          this.#log.info(
            { clientId: client.id, user: grant.subject },
            'MQTT token expired: connection closed',
          );
          client.close();
        },
        Math.min(Math.max(remaining, 0), MAX_TIMER_MS),
      ).unref();
    };
    arm();
    return expiry;
  }

  /** The grant of a connected client whose token is still valid, or why there is none. */
  #grantOf(client: Client | null): ClientGrant | string {
    const grant = client ? this.#grants.get(client) : undefined;
    if (!grant) return 'not authenticated';
    if (this.#now() >= grant.expiresAtMs) return 'token expired';
    return grant;
  }

  /**
   * Every client publish, and every will, comes here before Aedes acknowledges or routes it.
   * Calling `done` with an error makes Aedes close the connection (or drop the will).
   */
  #authorizePublish(
    client: Client | null,
    packet: PublishPacket,
    done: (error?: Error | null) => void,
  ): void {
    const grant = this.#grantOf(client);
    const topic = normalizeTopic(packet.topic);
    const refused =
      typeof grant === 'string'
        ? grant
        : topic.startsWith('$') || !mayPublish(grant, topic, this.#options.jwt.resourceServerId)
          ? 'publish outside the token’s scopes'
          : // Mercurio never retains; a client's retained message would be kept in memory forever.
            // A will is the exception: Chat21's client registers its presence will retained
            // (chat21-protocol.md §2.1e); it is delivered below, just not kept.
            packet.retain && !client?.closed
            ? 'retained messages are not accepted'
            : undefined;
    if (refused !== undefined || client === null) {
      this.#log.info({ clientId: client?.id, topic: packet.topic, reason: refused }, 'MQTT publish refused');
      done(new Error(refused));
      return;
    }
    packet.topic = topic;
    // Aedes publishes a will only after it closed the client.
    if (client.closed) packet.retain = false;
    const targets = this.#consumers.targets(topic);
    if (targets.length === 0) {
      done(null);
      return;
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const key = `${client.id}\u0000${packet.messageId ?? ''}`;
    const delivery: Delivery = {
      topic,
      body: payload,
      // DUP is the client's word: it says "look for my earlier copy", not "spare my limits".
      redelivered: this.#failedPublishes.has(key),
      retransmitted: packet.dup,
      attempts: this.#failedPublishes.get(key) ?? 0,
      receivedAt: this.#now(),
    };
    // Aedes publishes a will after it closed the client: nobody would resend it. Nor a QoS 0 publish.
    if (client.closed || packet.qos === 0) {
      this.#consumers.deliverRetrying(targets, delivery).then(() => done(null));
      return;
    }
    if (this.#draining) {
      // Not acknowledged: the client resends it when it reconnects (to the next process).
      done(new Error('the broker is shutting down'));
      return;
    }
    this.#consumers.deliverOnce(targets, delivery).then(
      () => {
        this.#failedPublishes.delete(key);
        this.#awaitAcknowledgement(packet);
        done(null);
      },
      async (error: unknown) => {
        this.#rememberFailure(key);
        this.#log.error(
          { err: error, clientId: client.id, topic },
          'message processing failed; disconnecting the client so that it resends',
        );
        if (!this.#draining) await sleep(this.#options.retryDelayMs);
        done(new Error('message processing failed'));
      },
    );
  }

  /**
   * After `done(null)` Aedes writes the PUBACK, then routes the packet, then calls `published`.
   * Closing waits for that, so that a client whose message was handled gets its PUBACK before
   * its connection is closed (a second or two at most: a PUBACK that cannot be written is not
   * waited for longer).
   */
  #awaitAcknowledgement(packet: PublishPacket): void {
    let finish!: () => void;
    const acknowledged = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const done = () => {
      clearTimeout(timer);
      this.#acknowledging.delete(packet);
      finish();
    };
    const timer = setTimeout(done, 2000).unref();
    this.#acknowledging.set(packet, { done, acknowledged });
  }

  #rememberFailure(key: string): void {
    this.#failedPublishes.set(key, (this.#failedPublishes.get(key) ?? 0) + 1);
    if (this.#failedPublishes.size > MAX_REMEMBERED_FAILURES) {
      const oldest = this.#failedPublishes.keys().next().value;
      if (oldest !== undefined) this.#failedPublishes.delete(oldest);
    }
  }

  #authorizeSubscribe(
    client: Client,
    subscription: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void {
    const grant = this.#grantOf(client);
    const filter = normalizeFilter(subscription.topic);
    const refused =
      typeof grant === 'string'
        ? grant
        : !maySubscribe(grant, client.id, filter, subscription.qos, this.#options.jwt.resourceServerId)
          ? 'subscription outside the token’s scopes'
          : undefined;
    if (refused !== undefined) {
      this.#log.info(
        { clientId: client.id, filter: subscription.topic, reason: refused },
        'MQTT subscribe refused',
      );
      done(new Error(refused));
      return;
    }
    // In place: Aedes persists the packet's own subscription objects for persistent sessions.
    // RabbitMQ 3.10 grants at most QoS 1.
    subscription.topic = filter;
    subscription.qos = Math.min(subscription.qos, 1) as Subscription['qos'];
    done(null, subscription);
  }
}
