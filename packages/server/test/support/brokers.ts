import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { signServiceToken } from '../../src/auth/tokens.js';
import type { Bus, ConsumerSpec, InboundHandler } from '../../src/bus/bus.js';
import { EmbeddedBus } from '../../src/bus/embedded/embedded-bus.js';
import { RabbitBus } from '../../src/bus/rabbitmq-bus.js';
import { redeliveredName, routerQueueName, undeliverableName } from '../../src/bus/rabbitmq-queues.js';
import { createLogger } from '../../src/logger.js';
import { services } from './services.js';

export type BrokerKind = 'rabbitmq' | 'embedded';

/** A Bus and the MQTT endpoints of the broker behind it, for tests that run on both engines. */
export interface BrokerUnderTest {
  kind: BrokerKind;
  bus: Bus;
  urls: { tcp: string; ws: string };
  /** The JWT settings the broker verifies client tokens with. */
  jwt: { secret: string; resourceServerId: string };
  close(): Promise<void>;
}

const log = () => createLogger((process.env.MERCURIO_TEST_LOG_LEVEL ?? 'silent') as 'silent');

function jwtSettings() {
  return { secret: services().jwtSecret, resourceServerId: 'rabbitmq' };
}

/**
 * RabbitBus on the test RabbitMQ, authenticated with a service token, with a queue prefix of its
 * own; its queues are deleted on close.
 */
export async function rabbitBroker(retryDelayMs = 100): Promise<BrokerUnderTest> {
  const env = services();
  const jwt = jwtSettings();
  const queuePrefix = `test-bus-${randomUUID().slice(0, 8)}`;
  const token = () => signServiceToken({ ...jwt }, 'bus-contract', 3600);
  const bus = await RabbitBus.connect({
    urls: [env.amqpUrl],
    shards: 4,
    queuePrefix,
    publishChannels: 4,
    token,
    tokenRefreshSeconds: 1800,
    retryDelayMs,
    log: log(),
  });
  const queues = new Set<string>();
  const tracked: Bus = {
    consume(spec: ConsumerSpec, handler: InboundHandler) {
      queues.add(routerQueueName(queuePrefix, spec));
      queues.add(redeliveredName(queuePrefix));
      queues.add(undeliverableName(queuePrefix));
      queues.add(`${queuePrefix}.dead`);
      return bus.consume(spec, handler);
    },
    publish: (events) => bus.publish(events),
    deadLetter: (letter) => bus.deadLetter(letter),
    close: () => bus.close(),
  };
  return {
    kind: 'rabbitmq',
    bus: tracked,
    urls: { tcp: env.mqttUrl, ws: env.wsUrl },
    jwt,
    async close() {
      await bus.close();
      if (queues.size === 0) return;
      const url = new URL(env.amqpUrl);
      const connection = await amqp.connect({
        hostname: url.hostname,
        port: Number(url.port),
        username: 'bus-contract',
        password: await token(),
      });
      try {
        const channel = await connection.createChannel();
        for (const queue of queues) await channel.deleteQueue(queue);
      } finally {
        await connection.close().catch(() => {});
      }
    },
  };
}

/** EmbeddedBus with its own TCP and WebSocket listeners on free loopback ports. */
export async function embeddedBroker(retryDelayMs = 100): Promise<BrokerUnderTest> {
  const jwt = jwtSettings();
  const bus = await EmbeddedBus.start({
    jwt,
    tcp: { port: 0, host: '127.0.0.1' },
    webSocket: { port: 0, host: '127.0.0.1' },
    retryDelayMs,
    log: log(),
  });
  return {
    kind: 'embedded',
    bus,
    urls: { tcp: `mqtt://127.0.0.1:${bus.tcpPort}`, ws: `ws://127.0.0.1:${bus.webSocketPort}/ws` },
    jwt,
    close: () => bus.close(),
  };
}
