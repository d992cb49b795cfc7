/**
 * The raw router: Mercurio's inbox pattern with no store and no logic — the structural limit of
 * the path on each broker. A client publishes one message; a consumer in the bench process takes
 * it and publishes the two copies Mercurio would (the recipient's and the sender's own, on the
 * same inbox topics), and only then lets the client's message go:
 *
 * - RabbitMQ: amqplib (noDelay, like the router), a quorum queue bound to amq.topic, as many
 *   messages in flight as the router (prefetch × its shard queues; one queue here), the copies persistent on as many confirm channels as the router has (each pinned by
 *   topic), the message acked once both copies are confirmed.
 * - Embedded: a bare Aedes in this process (no authentication, no bounds) with an in-process
 *   subscriber that publishes the two copies; Aedes sends the client's PUBACK once the subscriber
 *   called back, i.e. after both copies were dispatched.
 *
 * Clients publish on `apps/<app>/users/<sender>/rawrouter/<recipient>/outgoing` (inside their
 * user's namespace, which their token may write; Mercurio's router consumes the whole outgoing
 * namespace, so the real outgoing topic would reach it too).
 */
import { createServer, type Server } from 'node:net';
import { Aedes, type AedesPublishPacket } from 'aedes';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { signServiceToken } from '../packages/server/src/auth/tokens.js';
import type { Lane } from './loadgen.js';
import type { Target } from './target.js';

export interface RawRouter {
  /** Where the clients connect (RabbitMQ's MQTT listener, or the bare Aedes). */
  mqttUrl: string;
  stop(): Promise<void>;
}

/** The direct scenario's lanes, publishing to the raw router instead. */
export function rawRouterLanes(app: string, count: number): Lane[] {
  return Array.from({ length: count }, (_, i): Lane => {
    const sender = `s${i}`;
    const recipient = `r${i}`;
    return {
      sender,
      publish: `apps/${app}/users/${sender}/rawrouter/${recipient}/outgoing`,
      receiver: { user: recipient, topic: `apps/${app}/users/${recipient}/messages/${sender}/clientadded` },
      ownCopy: `apps/${app}/users/${sender}/messages/${recipient}/clientadded`,
    };
  });
}

/** The two copies' topics (levels) for a message on `apps/<app>/users/<s>/rawrouter/<r>/outgoing`. */
function copies(levels: string[]): string[][] {
  const [, app, , sender, , recipient] = levels;
  return [
    ['apps', app!, 'users', recipient!, 'messages', sender!, 'clientadded'],
    ['apps', app!, 'users', sender!, 'messages', recipient!, 'clientadded'],
  ];
}

export function startRawRouter(t: Target): Promise<RawRouter> {
  return t.services ? startAmqpRawRouter(t) : startAedesRawRouter(t);
}

async function startAmqpRawRouter(t: Target): Promise<RawRouter> {
  const url = new URL(t.services!.amqpUrl);
  const model: ChannelModel = await amqp.connect(
    {
      protocol: 'amqp',
      hostname: url.hostname,
      port: Number(url.port),
      vhost: '/',
      username: 'mercurio',
      password: await signServiceToken(t.config.jwt, 'mercurio-bench-raw-router', 3600),
    },
    { noDelay: true, clientProperties: { connection_name: 'mercurio-bench-raw-router' } },
  );
  const queue = `${t.config.router.queuePrefix}.raw-router.quorum`;
  const consumer: Channel = await model.createChannel();
  await consumer.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await consumer.purgeQueue(queue);
  await consumer.bindQueue(queue, 'amq.topic', `apps.${t.app}.users.*.rawrouter.*.outgoing`);
  // The router consumes its messages from `shards` queues, each with this prefetch: as many in flight.
  await consumer.prefetch(t.config.router.prefetch * (t.config.rabbitmq?.shards.count ?? 1));
  const publishers: ConfirmChannel[] = [];
  for (let i = 0; i < Math.max(1, t.config.router.publishChannels); i++) {
    publishers.push(await model.createConfirmChannel());
  }
  const confirmed = (routingKey: string, body: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const channel = publishers[pin(routingKey, publishers.length)]!;
      channel.publish(
        'amq.topic',
        routingKey,
        body,
        { persistent: true, contentType: 'application/json' },
        (error) => (error ? reject(error) : resolve()),
      );
    });
  const { consumerTag } = await consumer.consume(queue, (message) => {
    if (!message) return;
    const keys = copies(message.fields.routingKey.split('.')).map((levels) => levels.join('.'));
    Promise.all(keys.map((key) => confirmed(key, message.content))).then(
      () => consumer.ack(message),
      () => consumer.nack(message),
    );
  });
  return {
    mqttUrl: t.services!.mqttUrl,
    async stop() {
      await consumer.cancel(consumerTag);
      await consumer.deleteQueue(queue).catch(() => {});
      await model.close().catch(() => {});
    },
  };
}

/** The same pinning idea as the router's (one topic, one channel: its copies stay in order). */
function pin(key: string, channels: number): number {
  let hash = 0;
  for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) | 0;
  return Math.abs(hash) % channels;
}

async function startAedesRawRouter(t: Target): Promise<RawRouter> {
  // Each client publish holds one of Aedes' delivery slots (`concurrency`, 100 by default) until
  // its two copies are dispatched, and the copies need slots of their own: with more messages in
  // flight than slots, every slot waits for a copy that waits for a slot.
  const broker = await Aedes.createBroker({ maxClientsIdLength: 65_535, concurrency: 100_000 });
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    broker.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const publish = (topic: string, payload: Buffer) =>
    new Promise<void>((resolve, reject) =>
      broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  await new Promise<void>((resolve) =>
    broker.subscribe(
      `apps/${t.app}/users/+/rawrouter/+/outgoing`,
      (packet: AedesPublishPacket, done: () => void) => {
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        Promise.all(copies(packet.topic.split('/')).map((levels) => publish(levels.join('/'), payload))).then(
          () => done(),
          () => done(),
        );
      },
      resolve,
    ),
  );
  return {
    mqttUrl: `mqtt://127.0.0.1:${port}`,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
