/**
 * Retention purge under live load (issue 17): seeds TOTAL messages of which EXPIRED are older
 * than the app's policy, then writes messages at a fixed RATE through the store's commit path (as
 * the router does: one recordMessage per message, conversation rows updated in the same
 * statement) for a baseline, then again while the purge runs; reports the purge's rate and the
 * live commits' p50/p99 before and during.
 *
 *   node --conditions=mercurio-source --import tsx bench/purge.ts \
 *     [--total 3000000] [--expired 1000000] [--per-conversation 200] [--rate 100] \
 *     [--baseline-seconds 15] [--batch 1000] [--pause-ms 20] [--db <postgres url>] [--keep]
 *
 * Without --db it starts (or reuses) the bench's own services (bench/target.ts: PostgreSQL on port
 * 36432, never the tests') and stops them at the end if it started them. Its app id is its own;
 * its rows are deleted at the end (unless --keep).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { createLogger } from '../packages/server/src/logger.js';
import { RetentionPurger } from '../packages/server/src/policies/retention-purge.js';
import { createPgDatabase, POSTGRES_TIMEOUT_DEFAULTS } from '../packages/server/src/store/pg-database.js';
import { openSqlStore } from '../packages/server/src/store/sql-store.js';
import { conversationKey } from '../packages/server/src/store/types.js';
import { newHistogram, progress, REPO, recordMs, summarize } from './support.js';
import { benchServices, stopBenchServices } from './target.js';

const DAY = 86_400_000;

const { values } = parseArgs({
  options: {
    total: { type: 'string', default: '3000000' },
    expired: { type: 'string', default: '1000000' },
    'per-conversation': { type: 'string', default: '200' },
    rate: { type: 'string', default: '100' },
    'baseline-seconds': { type: 'string', default: '15' },
    batch: { type: 'string', default: '1000' },
    'pause-ms': { type: 'string', default: '20' },
    db: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const total = Number(values.total);
const expired = Number(values.expired);
const perConversation = Number(values['per-conversation']);
const rate = Number(values.rate);
const baselineMs = Number(values['baseline-seconds']) * 1000;
const conversations = Math.ceil(total / perConversation);
const expiredPerConversation = Math.round((expired / total) * perConversation);

/** The bench's PostgreSQL port (target.ts): already listening means someone else's run started it. */
const BENCH_PG_PORT = 36432;

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

let startedServices = false;
async function benchDb(): Promise<string> {
  if (values.db) return values.db;
  startedServices = !(await listening(BENCH_PG_PORT));
  return benchServices().pgUrl;
}

const log = createLogger('warn');
const url = await benchDb();
const timeouts = { ...POSTGRES_TIMEOUT_DEFAULTS, statementTimeoutMs: 600_000, queryTimeoutMs: 602_000 };
const db = createPgDatabase(url, 10, timeouts, log);
const store = await openSqlStore(db);
const app = `bench-purge-${randomUUID().slice(0, 8)}`;
const now = Date.now();

/**
 * Conversation c (users u<2c> and u<2c+1>) holds `perConversation` messages in seq order: the
 * first ones 60 days old and older (expired under a 30-day policy), the rest of the last 10 days.
 * One conversation in ten has 3 unread messages (its rows are rewritten by the purge), the others
 * are read to the end.
 */
async function seed(): Promise<void> {
  const chunk = 500; // conversations per statement (100k rows at 200 per conversation)
  for (let first = 0; first < conversations; first += chunk) {
    const last = Math.min(conversations, first + chunk) - 1;
    await db.query(
      `INSERT INTO messages (app_id, conversation_key, seq, message_id, sender, recipient, channel_type, body, text, created_at)
       SELECT $1, 'd/u' || (2 * c) || '/u' || (2 * c + 1), s, $1 || '-' || c || '-' || s,
         'u' || (2 * c + s % 2), 'u' || (2 * c + 1 - s % 2), 'direct',
         jsonb_build_object('text', 'message ' || s || ' of ' || c, 'type', 'text'),
         'message ' || s || ' of ' || c,
         CASE WHEN s <= $4 THEN $5::bigint - (($4 - s) * 3600000) ELSE $6::bigint + s * 60000 END
       FROM generate_series($2::int, $3::int) c, generate_series(1, ${perConversation}) s`,
      [app, first, last, expiredPerConversation, now - 60 * DAY, now - 10 * DAY],
    );
    await db.query(
      `INSERT INTO conversations (app_id, owner, convers_with, conversation_key, channel_type, last_seq, last_message,
         unread_count, read_seq, updated_at)
       SELECT $1, 'u' || (2 * c + o), 'u' || (2 * c + 1 - o), 'd/u' || (2 * c) || '/u' || (2 * c + 1), 'direct',
         ${perConversation}, jsonb_build_object('text', 'last'), CASE WHEN c % 10 = 0 THEN 3 ELSE 0 END,
         CASE WHEN c % 10 = 0 THEN ${perConversation - 3} ELSE ${perConversation} END, $4
       FROM generate_series($2::int, $3::int) c, generate_series(0, 1) o`,
      [app, first, last, now],
    );
    await db.query(
      `INSERT INTO conversation_heads (app_id, conversation_key, last_seq)
       SELECT $1, 'd/u' || (2 * c) || '/u' || (2 * c + 1), ${perConversation} FROM generate_series($2::int, $3::int) c`,
      [app, first, last],
    );
    progress(`seeded ${Math.min(total, (last + 1) * perConversation)} / ${total}`);
  }
  await db.exec('ANALYZE messages; ANALYZE conversations');
}

/** Writes messages at `rate` per second into random seeded conversations until `until()`. */
async function liveLoad(until: () => boolean) {
  const histogram = newHistogram();
  const interval = 1000 / rate;
  let due = performance.now();
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  while (!until()) {
    const c = Math.floor(Math.random() * conversations);
    const [a, b] = [`u${2 * c}`, `u${2 * c + 1}`];
    const started = performance.now();
    const messageId = randomUUID();
    const write = store
      .recordMessage(
        {
          app,
          messageId,
          sender: a,
          recipient: b,
          channelType: 'direct',
          conversationKey: conversationKey('direct', a, b),
          body: { text: 'live', type: 'text', message_id: messageId },
          text: 'live',
          createdAt: Date.now(),
        },
        [
          { owner: a, conversWith: b, isSender: true },
          { owner: b, conversWith: a, isSender: false },
        ],
      )
      .then(() => recordMs(histogram, performance.now() - started));
    inFlight.add(write);
    void write.finally(() => inFlight.delete(write));
    sent += 1;
    due += interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await Promise.all(inFlight);
  return { sent, latency: summarize(histogram) };
}

const count = async () =>
  Number(
    (await db.query<{ n: string }>('SELECT count(*) AS n FROM messages WHERE app_id = $1', [app])).rows[0]!.n,
  );

try {
  progress(`seeding ${total} messages (${expired} expired) in ${conversations} conversations`);
  const seedStarted = performance.now();
  await seed();
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  await store.setRetention(app, { scope: 'app' }, 30, Date.now());

  progress(`baseline: ${rate}/s for ${baselineMs / 1000} s`);
  const baselineEnd = performance.now() + baselineMs;
  const baseline = await liveLoad(() => performance.now() > baselineEnd);

  progress('purge with the same live load');
  const purger = new RetentionPurger({
    store,
    settings: {
      intervalMs: 0,
      batchSize: Number(values.batch),
      batchPauseMs: Number(values['pause-ms']),
      app,
    },
    log,
    now: Date.now,
  });
  let purgeDone = false;
  const during = liveLoad(() => purgeDone);
  const purgeStarted = performance.now();
  const report = await purger.run();
  const purgeSeconds = (performance.now() - purgeStarted) / 1000;
  purgeDone = true;
  const live = await during;
  const left = await count();

  const result = {
    at: new Date().toISOString(),
    total,
    expired,
    conversations,
    rate,
    batch: Number(values.batch),
    pauseMs: Number(values['pause-ms']),
    seedSeconds: Math.round(seedSeconds),
    purge: {
      deleted: report.deletedMessages,
      batches: report.batches,
      seconds: Math.round(purgeSeconds * 10) / 10,
      perSecond: Math.round(report.deletedMessages / purgeSeconds),
      conversationsFixed: report.conversationsFixed,
    },
    live: { before: baseline.latency, during: live.latency, sentDuring: live.sent },
    left,
    expectedLeft: total - expiredPerConversation * conversations + baseline.sent + live.sent,
  };
  console.log(JSON.stringify(result, null, 2));
  writeFileSync(`${REPO}bench/results/purge.json`, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  if (!values.keep) {
    progress('cleaning up the bench app');
    for (const table of ['messages', 'conversations', 'conversation_heads', 'retention_policies']) {
      await db.query(`DELETE FROM ${table} WHERE app_id = $1`, [app]);
    }
  }
  await store.close();
  if (startedServices) stopBenchServices();
}
