/**
 * `history`: the newest page of a conversation (50 messages) and full-text search, through the
 * HTTP API (`inject`: routing, auth and JSON included, no socket), over a store seeded with SQL
 * (`INSERT … SELECT generate_series`): 1M messages on PostgreSQL, fewer on PGlite.
 *
 * The seeded app `benchhist` has user `hme` in a direct conversation with each of 1,000 peers
 * (`p0000`…): message i goes to peer i mod 1000 and says "message i about w<(⌊i/1000⌋·919 + i) mod 1000>
 * and topic c<i mod 10> …", so a `w…` word matches 0.1% of the messages (spread over every
 * conversation) and a `c…` word 10%.
 */
import { signUserToken } from '../../packages/server/src/auth/tokens.js';
import type { Scale } from '../scale.js';
import { newHistogram, progress, recordMs, summarize } from '../support.js';
import type { Target } from '../target.js';

const APP = 'benchhist';
const ME = 'hme';
const PEERS = 1000;

async function count(t: Target): Promise<number> {
  const { rows } = await t.eng.db.query<{ n: string }>(
    'SELECT count(*) AS n FROM messages WHERE app_id = $1',
    [APP],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Seeds `total` messages (reused when a previous run on the same database seeded exactly that). */
async function seed(t: Target, total: number): Promise<void> {
  const db = t.eng.db;
  if ((await count(t)) === total) {
    progress(`${t.engine} history: ${total} messages already seeded (app ${APP}), reusing them`);
    return;
  }
  const t0 = performance.now();
  for (const table of ['messages', 'conversation_heads', 'conversations']) {
    await db.query(`DELETE FROM ${table} WHERE app_id = $1`, [APP]);
  }
  const perPeer = Math.ceil(total / PEERS);
  const chunk = 100_000;
  for (let from = 0; from < total; from += chunk) {
    const to = Math.min(total, from + chunk) - 1;
    // Peer c = i mod PEERS; seq = i div PEERS + 1; every other message from `hme`.
    await db.query(
      `INSERT INTO messages (app_id, conversation_key, seq, message_id, sender, recipient, channel_type, body, text, created_at)
       SELECT $1, 'd/' || $2 || '/' || peer, seq, 'bench-' || i, sender, recipient, 'direct',
              jsonb_build_object('text', txt, 'type', 'text', 'sender', sender, 'recipient', recipient,
                                 'message_id', 'bench-' || i, 'timestamp', ts, 'channel_type', 'direct'),
              txt, ts
       FROM (SELECT i, seq, peer, ts, txt,
                    CASE WHEN seq % 2 = 0 THEN $2 ELSE peer END AS sender,
                    CASE WHEN seq % 2 = 0 THEN peer ELSE $2 END AS recipient
             FROM (SELECT i, i / $5 + 1 AS seq, 'p' || lpad((i % $5)::text, 4, '0') AS peer,
                          1700000000000 + i::bigint AS ts,
                          format('message %s about w%s and topic c%s, with a few more ordinary words to index', i, (i / $5 * 919 + i) % 1000, i % 10) AS txt
                   FROM generate_series($3::int, $4::int) AS i) numbered) x`,
      [APP, ME, from, to, PEERS],
    );
    progress(
      `${t.engine} history: seeded ${to + 1}/${total} (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
    );
  }
  await db.query(
    `INSERT INTO conversation_heads (app_id, conversation_key, last_seq)
     SELECT $1, conversation_key, max(seq) FROM messages WHERE app_id = $1 GROUP BY conversation_key`,
    [APP],
  );
  // Both sides of each conversation.
  await db.query(
    `INSERT INTO conversations (app_id, owner, convers_with, conversation_key, channel_type, last_seq, updated_at)
     SELECT $1, o.owner, o.other, h.conversation_key, 'direct', h.last_seq, 1700000000000 + h.last_seq
     FROM conversation_heads h,
          LATERAL (VALUES ($2, split_part(h.conversation_key, '/', 3)),
                          (split_part(h.conversation_key, '/', 3), $2)) AS o(owner, other)
     WHERE h.app_id = $1`,
    [APP, ME],
  );
  await db.exec('ANALYZE messages; ANALYZE conversations; ANALYZE conversation_heads;');
  progress(
    `${t.engine} history: ${total} messages (${perPeer} per conversation) seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}

export async function historyScenario(t: Target, scale: Scale): Promise<void> {
  const total = scale.history[t.engine];
  await seed(t, total);
  await t.settle();
  const http = t.eng.http!;
  const base = t.config.http.basePath;
  const tokens = new Map<string, string>();
  const auth = async (user: string) => {
    let token = tokens.get(user);
    if (!token) {
      token = await signUserToken(t.config.jwt, { app: APP, user, ttlSeconds: 3600 });
      tokens.set(user, token);
    }
    return { authorization: `Bearer ${token}` };
  };
  const peer = (n: number) => `p${String(n % PEERS).padStart(4, '0')}`;
  const kinds: { measure: string; label: string; url: (n: number) => string; user: (n: number) => string }[] =
    [
      {
        measure: 'history_page',
        label: `the newest 50 of a conversation (${Math.ceil(total / PEERS)} messages)`,
        url: (n) => `${base}/v1/apps/${APP}/users/${ME}/conversations/${peer(n * 37)}/messages?limit=50`,
        user: () => ME,
      },
      {
        measure: 'search_rare',
        label: `search a word in 0.1% of the ${total} messages, as the user who sees them all`,
        url: (n) => `${base}/v1/apps/${APP}/users/${ME}/search?q=w${(n * 13) % 1000}&limit=20`,
        user: () => ME,
      },
      {
        measure: 'search_common',
        label: `search a word in 10% of the ${total} messages, as the user who sees them all`,
        url: (n) => `${base}/v1/apps/${APP}/users/${ME}/search?q=c${n % 10}&limit=20`,
        user: () => ME,
      },
      {
        measure: 'search_every',
        label: `search a word in every one of the ${total} messages, as the user who sees them all`,
        url: () => `${base}/v1/apps/${APP}/users/${ME}/search?q=ordinary&limit=20`,
        user: () => ME,
      },
      {
        measure: 'search_peer_common',
        label: 'search a word in 10% of the messages, as a user in one conversation',
        url: (n) => `${base}/v1/apps/${APP}/users/${peer(n * 37)}/search?q=c${n % 10}&limit=20`,
        user: (n) => peer(n * 37),
      },
      {
        measure: 'search_peer',
        label: 'search a word in 0.1% of the messages, as a user in one conversation',
        url: (n) => `${base}/v1/apps/${APP}/users/${peer(n * 37)}/search?q=w${(n * 13) % 1000}&limit=20`,
        user: (n) => peer(n * 37),
      },
    ];
  for (const kind of kinds) {
    const histogram = newHistogram();
    const meter = t.cpu();
    let hits = 0;
    let done = 0;
    const kindStarted = performance.now();
    // A few warm-up requests (JIT, plan cache) are not counted; at most ~15 s per kind.
    for (let n = -5; n < scale.queries; n++) {
      if (n >= 20 && performance.now() - kindStarted > 15_000) break;
      const headers = await auth(kind.user(n + 5));
      const started = performance.now();
      const response = await http.inject({ method: 'GET', url: kind.url(n + 5), headers });
      const ms = performance.now() - started;
      if (response.statusCode !== 200)
        throw new Error(`${kind.url(n + 5)}: ${response.statusCode} ${response.body}`);
      if (n < 0) continue;
      recordMs(histogram, ms);
      done++;
      hits += (response.json() as { result: unknown[] }).result.length;
    }
    const cpu = meter();
    const s = summarize(histogram);
    progress(
      `${t.engine} ${kind.measure}: p50 ${s.p50} p90 ${s.p90} p99 ${s.p99} max ${s.max} ms, ${(hits / done).toFixed(0)} results/request (${kind.label}; ${cpu})`,
    );
    const params = `messages=${total};requests=${done};results=${(hits / done).toFixed(0)}`;
    for (const p of ['p50', 'p90', 'p99', 'max'] as const) {
      t.record({
        scenario: 'history',
        measure: `${kind.measure}_${p}`,
        params,
        value: s[p],
        unit: 'ms',
        relay: undefined,
        ratio: undefined,
        ...(p === 'p50' ? { cpu } : {}),
      });
    }
  }
}
