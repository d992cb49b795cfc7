/**
 * The 3-node RabbitMQ cluster of scripts/cluster.sh does what the fault tests of issue 13 rely on:
 * the nodes form one cluster; a quorum queue keeps its messages when the node a client declared it
 * on is killed with SIGKILL (consumed from another node); a node cut off the network pauses
 * (pause_minority) and comes back when healed; MQTT clients connect to any node with a JWT.
 * Timings go to stderr (`[cluster-smoke] …`).
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signServiceToken, signUserToken } from '../src/auth/tokens.js';
import { cluster, type TestCluster } from './support/cluster.js';
import { TestClient } from './support/mqtt-client.js';

const MESSAGES = 200;

function report(line: string): void {
  process.stderr.write(`[cluster-smoke] ${line}\n`);
}

describe('3-node RabbitMQ cluster (scripts/cluster.sh)', () => {
  let testCluster: TestCluster;
  const jwt = () => ({ secret: testCluster.env.jwtSecret, resourceServerId: 'rabbitmq' });
  const connections: amqp.ChannelModel[] = [];

  async function connectAmqp(node: 1 | 2 | 3): Promise<amqp.ChannelModel> {
    const url = new URL(testCluster.env.amqpUrls[node - 1]!);
    const connection = await amqp.connect({
      hostname: url.hostname,
      port: Number(url.port),
      username: 'cluster-smoke',
      password: await signServiceToken(jwt(), 'cluster-smoke', 600),
    });
    // A killed node drops the connection: an error event nobody listens to would fail the run.
    connection.on('error', () => {});
    connections.push(connection);
    return connection;
  }

  beforeAll(() => {
    testCluster = cluster();
  });

  afterAll(async () => {
    for (const connection of connections) await connection.close().catch(() => {});
    // The next cluster test finds three running nodes again.
    const started = Date.now();
    await testCluster.restore();
    report(`restored in ${Date.now() - started} ms`);
  });

  it('forms one cluster of three running nodes', async () => {
    const status = await testCluster.status({ quick: true });
    expect(status.nodes.map((n) => [n.node, n.state, n.link])).toEqual([
      [1, 'running', 'up'],
      [2, 'running', 'up'],
      [3, 'running', 'up'],
    ]);
    expect(await testCluster.runningNodes(2)).toEqual([...testCluster.env.nodes].sort());
  });

  it('MQTT: a client with a JWT connects to node 2 and gets what an AMQP client publishes on node 1', async () => {
    const app = `smoke${randomUUID().slice(0, 8)}`;
    const client = await TestClient.connect(
      testCluster.env.mqttUrls[1]!,
      await signUserToken(jwt(), { app, user: 'ann', ttlSeconds: 600 }),
    );
    try {
      await client.subscribe(`apps/${app}/users/ann/#`);
      const channel = await (await connectAmqp(1)).createConfirmChannel();
      channel.publish('amq.topic', `apps.${app}.users.ann.messages.hello`, Buffer.from('{"text":"hi"}'));
      await channel.waitForConfirms();
      const received = await client.waitFor((m) => m.topic.endsWith('/messages/hello'));
      expect(received.payload).toEqual({ text: 'hi' });
    } finally {
      await client.end();
    }
  });

  it('a node cut off the network pauses (pause_minority) and runs again once healed', async () => {
    await testCluster.partition(3);
    const pausedAfter = await testCluster.waitFor(
      (s) => s.nodes.find((n) => n.node === 3)?.state === 'paused',
      45_000,
      'node 3 paused',
    );
    // The majority side keeps serving, and sees node 3 gone.
    const remaining = testCluster.env.nodes.slice(0, 2).sort();
    expect(await testCluster.runningNodes(1)).toEqual(remaining);
    const majority = await testCluster.status({ quick: true });
    expect(majority.nodes.filter((n) => n.state === 'running').map((n) => n.node)).toEqual([1, 2]);

    await testCluster.heal(3);
    const backAfter = await testCluster.waitFor((s) => s.healthy, 60_000, 'node 3 back in the cluster');
    report(
      `partition of node 3: paused after ${pausedAfter} ms; running in the cluster ${backAfter} ms after heal`,
    );
  });

  it('a quorum queue declared on node 1 keeps its messages when node 1 is killed (-9): consumed from node 2', async () => {
    const queue = `cluster-smoke.${randomUUID()}`;
    const channel = await (await connectAmqp(1)).createConfirmChannel();
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    for (let i = 0; i < MESSAGES; i++)
      channel.sendToQueue(queue, Buffer.from(String(i)), { persistent: true });
    await channel.waitForConfirms();

    await testCluster.kill(1);
    const killedAt = Date.now();
    expect(await testCluster.nodeState(1)).toBe('down');

    // Consume on node 2 as a client that failed over would: retry until the queue answers there.
    const consumer = await (await connectAmqp(2)).createChannel();
    const bodies: number[] = [];
    let firstAfter = -1;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`got ${bodies.length} of ${MESSAGES} messages within 30 s`)),
        30_000,
      );
      void consumer.consume(queue, (message) => {
        if (!message) return;
        if (firstAfter < 0) firstAfter = Date.now() - killedAt;
        bodies.push(Number(message.content.toString()));
        consumer.ack(message);
        if (bodies.length === MESSAGES) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const allAfter = Date.now() - killedAt;
    expect(bodies).toEqual(Array.from({ length: MESSAGES }, (_, i) => i));
    report(
      `node 1 killed: first of ${MESSAGES} messages consumed on node 2 after ${firstAfter} ms, all after ${allAfter} ms`,
    );
    await consumer.deleteQueue(queue);
  });
});
