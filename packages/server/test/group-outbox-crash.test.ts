import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { PublicationRelay } from '../src/outbox/publication-relay.js';
import { createPgDatabase } from '../src/store/pg-database.js';
import { createPgliteDatabase } from '../src/store/pglite-database.js';
import { openSqlStore } from '../src/store/sql-store.js';
import type { Received, TestClient } from './support/mqtt-client.js';
import { MercurioProcess } from './support/router-process.js';
import { seedMessage } from './support/seed.js';
import { services } from './support/services.js';
import { ENGINES, TestStack } from './support/stack.js';

const GROUP = 'group-crash';
const HISTORY = 5;

/** A port free right now, for a child whose HTTP API the test calls. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Issue 12: group administration commits the change and its notifications in one transaction. A
 * `mercurio serve` process is killed with SIGKILL after it committed a join and before it published
 * anything (MERCURIO_TEST_HOLD_PUBLICATIONS keeps its relay from running); after the restart every
 * member gets the join's group-updated event and info message, and the new member the history, once.
 */
describe.each(ENGINES)('a group join killed between commit and publish (%s)', (engine) => {
  // The restarted engine runs in this process; its own relay held until the members are back online.
  const stack = new TestStack('grp-crash', { MERCURIO_TEST_HOLD_PUBLICATIONS: 'true' }, engine);
  const members = ['ann', 'ben', 'cat'];
  let child: MercurioProcess | undefined;
  let relay: PublicationRelay | undefined;
  afterAll(async () => {
    await child?.kill('SIGKILL');
    await relay?.stop();
    await stack.close();
  });

  it('every member gets the notifications once after the restart', { timeout: 240_000 }, async () => {
    // The group and its history, written straight to the database (no relay runs here yet).
    const db =
      engine === 'rabbitmq'
        ? createPgDatabase(services().pgUrl, 2)
        : await createPgliteDatabase(join(stack.config.dataDir, 'pglite'));
    const seedStore = await openSqlStore(db);
    const now = Date.now();
    await seedStore.createGroupIfAbsent({
      app: stack.app,
      uid: GROUP,
      name: 'Crash',
      owner: 'ann',
      members: ['ann', 'ben'],
      attributes: null,
      volatile: false,
      createdOn: now,
      updatedOn: now,
    });
    for (let i = 0; i < HISTORY; i++) {
      await seedMessage(seedStore, stack.app, {
        sender: 'ann',
        recipient: GROUP,
        text: `old ${i}`,
        group: ['ann', 'ben'],
      });
    }
    if (engine === 'embedded') await db.close(); // PGlite: one process owns the data directory

    // A real `mercurio serve` that commits but never publishes, then SIGKILL right after the commit.
    const port = await freePort();
    const where =
      engine === 'rabbitmq'
        ? stack.routerEnv
        : {
            MERCURIO_JWT_SECRET: services().jwtSecret,
            MERCURIO_APP_ID: stack.app,
            MERCURIO_DATA_DIR: stack.config.dataDir,
            MERCURIO_MQTT_PORT: '0',
          };
    child = new MercurioProcess(
      {
        ...where,
        MERCURIO_LOG_LEVEL: 'info',
        MERCURIO_HTTP_PORT: String(port),
        MERCURIO_HTTP_HOST: '127.0.0.1',
        MERCURIO_TEST_HOLD_PUBLICATIONS: 'true',
      },
      'serve',
    );
    await child.start('mercurio started');
    // RabbitMQ: the members are online before the crash, so anything published then would show.
    const online = new Map<string, TestClient>();
    if (engine === 'rabbitmq') for (const user of members) online.set(user, await stack.client(user));
    const response = await fetch(`http://127.0.0.1:${port}/api/${stack.app}/groups/${GROUP}/members`, {
      method: 'POST',
      headers: { authorization: await stack.token('ann'), 'content-type': 'application/json' },
      body: JSON.stringify({ member_id: 'cat' }),
    });
    expect(response.status).toBe(200);
    expect(await child.kill('SIGKILL')).toBe(null);

    // Committed: cat is a member, and the notifications wait in the outbox, unpublished.
    if (engine === 'embedded') {
      await stack.startRouter();
      for (const user of members) online.set(user, await stack.client(user));
    } else {
      await stack.startRouter();
    }
    const store = stack.router!.store;
    expect((await store.getGroup(stack.app, GROUP))?.members).toEqual(['ann', 'ben', 'cat']);
    expect(await store.pendingPublications(stack.app)).toBe(1);
    const joinEvents = (user: string) => (m: Received) =>
      m.topic === stack.topic('users', user, 'groups', GROUP, 'clientupdated');
    const joinInfo = (user: string) => (m: Received) =>
      m.topic === stack.topic('users', user, 'messages', GROUP, 'clientadded') &&
      m.payload.text === 'cat added to group';
    const history = (m: Received) =>
      m.topic === stack.topic('users', 'cat', 'messages', GROUP, 'clientadded') &&
      m.payload.__history === 'true';
    for (const user of members) {
      const received = online.get(user)!.received;
      expect(received.filter((m) => joinEvents(user)(m) || joinInfo(user)(m) || history(m))).toEqual([]);
    }

    // The restarted process's relay publishes what the dead one committed.
    relay = new PublicationRelay({
      queue: store,
      bus: stack.router!.bus,
      settings: { ...stack.config.publications, holdForTests: false },
      log: createLogger('silent'),
      now: Date.now,
    });
    relay.start();
    for (const user of members) {
      const client = online.get(user)!;
      const [event] = await client.waitForCount(joinEvents(user), 1);
      expect(event!.payload).toMatchObject({
        uid: GROUP,
        members: { ann: 1, ben: 1, cat: 1 },
        notification: { messagelabel: { key: 'MEMBER_JOINED_GROUP', parameters: { member_id: 'cat' } } },
      });
      await client.waitForCount(joinInfo(user), 1);
    }
    const cat = online.get('cat')!;
    const copies = await cat.waitForCount(history, HISTORY);
    expect(copies.map((m) => m.payload.text)).toEqual([...Array(HISTORY).keys()].map((i) => `old ${i}`));
    // Published and confirmed: the entry is gone, so no relay publishes it again.
    await relay.flush();
    expect(await store.pendingPublications(stack.app)).toBe(0);
    if (engine === 'rabbitmq') await db.close();

    // Once: a later join's notifications arrive after these (same group, same queues); by then any
    // second copy of the first join's would have arrived too.
    const api = await stack.http({}, { publications: relay });
    const dan = await api.inject({
      method: 'POST',
      url: `/api/${stack.app}/groups/${GROUP}/members`,
      headers: { authorization: await stack.token('ann'), 'content-type': 'application/json' },
      payload: JSON.stringify({ member_id: 'dan' }),
    });
    expect(dan.statusCode).toBe(200);
    for (const user of members) {
      const client = online.get(user)!;
      await client.waitFor(
        (m) => joinEvents(user)(m) && (m.payload.members as Record<string, number>).dan === 1,
      );
      await client.waitFor((m) => m.payload.text === 'dan added to group');
      const userEvents = client.received.filter(
        (m) => joinEvents(user)(m) && (m.payload.members as Record<string, number>).dan === undefined,
      );
      expect(userEvents, `${user}: the join's group-updated event once`).toHaveLength(1);
      expect(client.received.filter(joinInfo(user)), `${user}: the join's info message once`).toHaveLength(1);
    }
    expect(cat.received.filter(history), 'cat: the history once').toHaveLength(HISTORY);
    // The info message was stored once (its message id was fixed at commit).
    const { rows } = await stack.sql.query(
      `SELECT count(*)::int AS n FROM messages WHERE app_id = $1 AND body->>'text' = 'cat added to group'`,
      [stack.app],
    );
    expect(rows[0].n).toBe(1);
  });
});
