import amqp from 'amqplib';
import { signServiceToken } from '../../src/auth/tokens.js';
import {
  redeliveredName,
  routerQueueName,
  shardExchangeName,
  shardQueueName,
  undeliverableName,
} from '../../src/bus/rabbitmq-queues.js';
import type { Config } from '../../src/config.js';
import { consumerSpecs } from '../../src/router/router.js';
import { services } from './services.js';

/**
 * Deletes a test router's queues and exchanges on the shared RabbitMQ, or the broker at `amqpUrl`
 * (quorum queues are Raft members each: left behind by every test run, they would pile up on the
 * broker). Best effort.
 */
export async function deleteRouterQueues(config: Config, amqpUrl = services().amqpUrl): Promise<void> {
  const prefix = config.router.queuePrefix;
  const url = new URL(amqpUrl);
  const connection = await amqp.connect({
    hostname: url.hostname,
    port: Number(url.port),
    username: 'test-cleanup',
    password: await signServiceToken(config.jwt, 'test-cleanup', 600),
  });
  try {
    const channel = await connection.createChannel();
    for (const name of [redeliveredName(prefix), undeliverableName(prefix), `${prefix}.dead`]) {
      await channel.deleteQueue(name);
      await channel.deleteExchange(name);
    }
    // Seen on 3.10.8: a quorum queue deleted right after its consumers left can answer delete-ok
    // and stay; it goes on a later attempt.
    const queues: string[] = [];
    for (const spec of consumerSpecs(undefined, 1)) {
      queues.push(routerQueueName(prefix, spec));
      if (!spec.sharded) continue;
      await channel.deleteExchange(shardExchangeName(prefix, spec));
      const shards = config.rabbitmq?.shards.count ?? 0;
      for (let shard = 0; shard < shards; shard++) queues.push(shardQueueName(prefix, spec, shard));
    }
    for (const queue of queues) {
      for (let attempt = 0; attempt < 20; attempt++) {
        await channel.deleteQueue(queue);
        // A missing queue closes the channel it is checked on.
        const probe = await connection.createChannel();
        probe.on('error', () => {});
        const exists = await probe.checkQueue(queue).then(
          () => true,
          () => false,
        );
        if (!exists) break;
        await probe.close();
      }
    }
  } finally {
    await connection.close().catch(() => {});
  }
}
