/**
 * Search's bounded plans against the single ranked query they replaced (issue 14), interleaved
 * in one run on the same seeded database, so the machine's load is the same for both:
 *   node --import tsx bench/search-plans.ts [postgres-url] [rounds]
 * The database is the `history` scenario's (run `npm run bench -- history --engine rabbitmq
 * --keep-services` first); without a URL, the bench's own PostgreSQL.
 */
import { createPgDatabase, POSTGRES_TIMEOUT_DEFAULTS } from '../packages/server/src/store/pg-database.js';
import { type SearchBounds, searchMessages } from '../packages/server/src/store/search-sql.js';
import { newHistogram, progress, recordMs, summarize } from './support.js';

const url = process.argv[2] ?? 'postgres://postgres@127.0.0.1:36432/mercurio';
const rounds = Number(process.argv[3] ?? 40);
const APP = 'benchhist';
// The single query over a word in every message takes seconds: no statement timeout here.
const db = createPgDatabase(url, 2, {
  ...POSTGRES_TIMEOUT_DEFAULTS,
  statementTimeoutMs: 0,
  queryTimeoutMs: 0,
});
// scanRows above anyone's count: the single ranked query over all history, as before.
const SINGLE: SearchBounds = { scanRows: Number.MAX_SAFE_INTEGER, windowRows: 1 };
// The last field: how many rounds the single query gets (a word in every message takes ~8 s each).
const cases: [string, string, (n: number) => string, number][] = [
  ['word in 0.1%, user who sees all', 'hme', (n) => `w${(n * 13) % 1000}`, rounds],
  ['word in 10%, user who sees all', 'hme', (n) => `c${n % 10}`, rounds],
  ['word in every message, user who sees all', 'hme', () => 'ordinary', 3],
  ['word in 10%, one-conversation user', 'p0817', (n) => `c${n % 10}`, rounds],
];
for (const [label, user, word, singleRounds] of cases) {
  const single = newHistogram();
  const bounded = newHistogram();
  for (let n = -3; n < rounds; n++) {
    for (const [histogram, bounds] of [
      [single, SINGLE],
      [bounded, undefined],
    ] as const) {
      if (bounds === SINGLE && n >= singleRounds) continue;
      const started = performance.now();
      await searchMessages(db, APP, user, { text: word(n), limit: 20 }, bounds);
      if (n >= 0) recordMs(histogram, performance.now() - started);
    }
  }
  const a = summarize(single);
  const b = summarize(bounded);
  progress(`${label}: single query p50 ${a.p50} p99 ${a.p99} ms → bounded p50 ${b.p50} p99 ${b.p99} ms`);
}
await db.close();
