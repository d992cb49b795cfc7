/**
 * Direct messages end to end (QoS 1, stored before delivery, both copies delivered) against the
 * raw broker's MQTT QoS 1 relay, measured in the same run, on either engine.
 * Usage: node --conditions=mercurio-source --import tsx bench/direct.ts [count] [rabbitmq|embedded]
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signUserToken } from '../packages/server/src/auth/tokens.js';
import { loadConfig } from '../packages/server/src/config.js';
import { startEngine } from '../packages/server/src/engine.js';
import { createLogger } from '../packages/server/src/logger.js';
import { connect, percentiles, pump, startServices } from './support.js';

const COUNT = Number(process.argv[2] ?? 20_000);
const ENGINE = process.argv[3] === 'embedded' ? 'embedded' : 'rabbitmq';
const PAIRS = Number(process.argv[4] ?? 8);
const WINDOW = 32;

const services = startServices();
const app = `bench-${randomUUID().slice(0, 6)}`;
const dataDir = mkdtempSync(join(tmpdir(), 'mercurio-bench-'));
const config = loadConfig({
  MERCURIO_JWT_SECRET: services.jwtSecret,
  ...(ENGINE === 'rabbitmq'
    ? { MERCURIO_AMQP_URL: services.amqpUrl, MERCURIO_DATABASE_URL: services.pgUrl }
    : { MERCURIO_DATA_DIR: dataDir, MERCURIO_MQTT_PORT: '0', MERCURIO_HTTP_PORT: '0' }),
  MERCURIO_APP_ID: app,
  MERCURIO_QUEUE_PREFIX: `bench-${app}`,
  MERCURIO_LOG_LEVEL: 'warn',
  MERCURIO_PREFETCH: '256',
});
const token = (user: string) => signUserToken(config.jwt, { app, user, ttlSeconds: 3600 });

async function run(
  name: string,
  route: (sender: string, recipient: string) => { publish: string; receive: string; receiver: string },
) {
  const perPair = Math.floor(COUNT / PAIRS);
  const latencies: number[] = [];
  const clients = [];
  let received = 0;
  let allReceived!: () => void;
  const done = new Promise<void>((resolve) => (allReceived = resolve));
  const started = performance.now();
  const lanes = [];
  for (let p = 0; p < PAIRS; p++) {
    const sender = `s${p}`;
    const recipient = `r${p}`;
    const { publish, receive, receiver } = route(sender, recipient);
    const rx = await connect(mqttUrl(), await token(receiver), `${name}-${recipient}-${app}`);
    const tx = await connect(mqttUrl(), await token(sender), `${name}-${sender}-${app}`);
    clients.push(rx, tx);
    await rx.subscribeAsync(receive, { qos: 1 });
    rx.on('message', (_topic, payload) => {
      const body = JSON.parse(payload.toString()) as { text: string };
      latencies.push(performance.now() - Number(body.text));
      if (++received === perPair * PAIRS) allReceived();
    });
    lanes.push(() =>
      pump(
        (i) => tx.publishAsync(publish, JSON.stringify({ text: String(performance.now()), i }), { qos: 1 }),
        perPair,
        WINDOW,
      ),
    );
  }
  const t0 = performance.now();
  await Promise.all(lanes.map((lane) => lane()));
  await done;
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(clients.map((c) => c.endAsync()));
  const rate = Math.round((perPair * PAIRS) / seconds);
  const p = percentiles(latencies);
  console.log(
    `${name.padEnd(8)} ${String(rate).padStart(7)} msg/s   p50 ${p.p50.toFixed(1)} ms  p90 ${p.p90.toFixed(1)}  p99 ${p.p99.toFixed(1)}  max ${p.max.toFixed(1)}   (${perPair * PAIRS} msgs, ${((performance.now() - started) / 1000) | 0}s)`,
  );
  return rate;
}

console.error(`bench (${ENGINE}): ${COUNT} messages, ${PAIRS} pairs, ${WINDOW} in flight per sender`);
// Embedded, the broker lives in the engine: start it first (the router ignores the relay topics).
let engine =
  ENGINE === 'embedded'
    ? await startEngine(config, createLogger('warn'), { router: true, http: true })
    : undefined;
const mqttUrl = () => engine?.mqtt?.tcpUrl ?? services.mqttUrl;
// The physical limit: a second client of the same user subscribed to what the first publishes.
const relay = await run('relay', (sender) => ({
  publish: `apps/${app}/users/${sender}/relay`,
  receive: `apps/${app}/users/${sender}/relay`,
  receiver: sender,
}));
engine ??= await startEngine(config, createLogger('warn'), { router: true, http: false });
const direct = await run('direct', (sender, recipient) => ({
  publish: `apps/${app}/outgoing/users/${sender}/messages/${recipient}/outgoing`,
  receive: `apps/${app}/users/${recipient}/messages/${sender}/clientadded`,
  receiver: recipient,
}));
await engine.stop();
rmSync(dataDir, { recursive: true, force: true });
console.log(`ratio direct / relay: ${(direct / relay).toFixed(2)}`);
