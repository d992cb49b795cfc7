import { it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { embeddedBroker } from './support/brokers.js';
import { TestClient } from './support/mqtt-client.js';
import { signUserToken } from '../src/auth/tokens.js';
it('debug close', async () => {
  const b = await embeddedBroker();
  let release!: () => void; const p = new Promise<void>((r) => { release = r; });
  let started = false;
  await b.bus.consume({ name: 'm', kinds: ['outgoing'], app: 'dbg', prefetch: 10 }, async () => { started = true; await p; });
  const c = await TestClient.connect(b.urls.tcp, await signUserToken(b.jwt, { app: 'dbg', user: 'a', ttlSeconds: 60 }), { clientId: 'a1' });
  const pub = c.publish('apps/dbg/outgoing/users/a/messages/b/outgoing', { x: 1 }).then(() => console.log('PUBACK'), (e) => console.log('pub err', e.message));
  while (!started) await sleep(10);
  const closing = b.bus.close().then(() => console.log('CLOSED'));
  await sleep(100); release(); console.log('released');
  await Promise.race([closing, sleep(2000).then(() => console.log('close timeout'))]);
  await Promise.race([pub, sleep(1000).then(() => console.log('pub timeout'))]);
  console.log('client closed?', c.closed);
});
