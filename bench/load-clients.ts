/** What the load generator's scenarios share: tokens, connecting and closing clients, waiting. */
import type { MqttClient } from 'mqtt';
import { signUserToken } from '../packages/server/src/auth/tokens.js';
import { sleep } from './support.js';

export interface Jwt {
  secret: string;
  resourceServerId: string;
}

export async function token(jwt: Jwt, app: string, user: string): Promise<string> {
  return signUserToken(jwt, { app, user, ttlSeconds: 3600 });
}

/** Connects `count` clients at most `concurrency` at a time. */
export async function connectAll<T>(items: T[], concurrency: number, open: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await open(items[next++]!);
    }),
  );
}

export async function closeClients(list: MqttClient[]): Promise<void> {
  await Promise.all(list.map((c) => c.endAsync(true).catch(() => {})));
}

/** Resolves true when `arm`'s callback is called, false after `timeoutMs`. */
export function signal(arm: (fire: () => void) => void, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    arm(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const tick = () => {
      if (check()) resolve(true);
      else if (performance.now() - t0 > timeoutMs) resolve(false);
      else setTimeout(tick, 5);
    };
    tick();
  });
}

/**
 * Resolves once `performance.now()` reaches `at`. A timer alone is late by up to ~1 ms (timers
 * are whole milliseconds, measured from the loop's cached clock), so at low rates the last
 * ~1.5 ms are spent in setImmediate turns, which keep handling I/O. At high rates (interval
 * < 2 ms) that would spin all the time: there the timer's lateness is left in (see sendLag).
 */
export async function waitFor(at: number, rate: number): Promise<void> {
  const spin = rate <= SPIN_UP_TO_RATE;
  const coarse = at - performance.now() - (spin ? 1.5 : 0);
  if (coarse >= 1) await sleep(Math.floor(coarse));
  else if (!spin) await sleep(1);
  while (spin && performance.now() < at) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Fixed rates up to this many msgs/s are sent on time to ~0.05 ms (see `waitFor`). */
export const SPIN_UP_TO_RATE = 500;
