import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';

const REPO = fileURLToPath(new URL('../', import.meta.url));

export interface Services {
  amqpUrl: string;
  mqttUrl: string;
  wsUrl: string;
  pgUrl: string;
  jwtSecret: string;
}

/** Starts (or reuses) the throwaway RabbitMQ + PostgreSQL the tests use. */
export function startServices(): Services {
  const out = execFileSync('bash', [`${REPO}scripts/services.sh`, 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const env = Object.fromEntries(
    [...out.matchAll(/export (\w+)=['"]?([^'"\n]*)['"]?/g)].map((m) => [m[1]!, m[2]!]),
  );
  return {
    amqpUrl: env.MERCURIO_TEST_AMQP_URL!,
    mqttUrl: env.MERCURIO_TEST_MQTT_URL!,
    wsUrl: env.MERCURIO_TEST_WS_URL!,
    pgUrl: env.MERCURIO_TEST_PG_URL!,
    jwtSecret: env.MERCURIO_TEST_JWT_SECRET!,
  };
}

export async function connect(url: string, token: string, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    protocolVersion: 4,
    username: 'JWT',
    password: token,
    clientId,
    reconnectPeriod: 0,
    keepalive: 30,
  });
}

/** Latency percentiles in ms from raw samples. */
export function percentiles(samples: number[]): Record<'p50' | 'p90' | 'p99' | 'max', number> {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}

/**
 * Publishes `count` messages with QoS 1 keeping at most `window` unacknowledged, and resolves
 * when `done()` says every message arrived.
 */
export async function pump(
  publish: (i: number) => Promise<unknown>,
  count: number,
  window: number,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: window }, async () => {
    while (next < count) {
      const i = next++;
      await publish(i);
    }
  });
  await Promise.all(lanes);
}
