import { MATCH_END, MATCH_START, type SearchHit, type SearchQuery } from './api-store.js';
import { MESSAGE_COLUMNS, type MessageRow, toMessage } from './rows.js';
import type { SqlExecutor } from './sql.js';

/**
 * ts_headline puts MATCH_START / MATCH_END around matches; they are stripped from the text first,
 * so they only mean "match". '<' and '>' go in as LESS_THAN / GREATER_THAN (also stripped first):
 * ts_headline's parser would otherwise take `<b>` for markup and drop it from the snippet.
 */
export const LESS_THAN = '\u0003';
export const GREATER_THAN = '\u0004';

/**
 * How search bounds its work (docs/api.md, "Full-text search"). Ranking every match of a common
 * word reads every matching row: a word in 10% of 1M messages is 100k rows and ~1 s, and even the
 * word index alone takes ~150 ms to list 100k entries.
 * - A user who can see at most `scanRows` messages: the planner's choice (it reads a few
 *   conversations by their key, or a rare word's entries in the word index).
 * - Anyone else: first the app's newest `windowRows` messages, matched row by row (they sit
 *   together on disk; the cost is bounded by the window, whatever the word). A window holding at
 *   least a page of the user's matches is what is ranked: a common word ranks its newest matches,
 *   and the scan stops once it has `limit × 10` of them (a word in every message reads 200 rows).
 *   Otherwise the word is rare (fewer than a page per window) and all history is ranked through
 *   the word index, whose entries for such a word are few.
 */
export interface SearchBounds {
  scanRows: number;
  windowRows: number;
}

export const SEARCH_BOUNDS: SearchBounds = { scanRows: 2_000, windowRows: 5_000 };

/** In the window, the newest `limit × this` matches are ranked: a word in every message stops early. */
const CANDIDATES_PER_HIT = 10;

type HitRow = MessageRow & { convers_with: string; rank: number; snippet: string };

/**
 * Full-text search over the messages `user` can see: those of conversations they have a row for
 * (up to the moment they left a group), minus messages hidden from them. Ranked by ts_rank, then
 * newest first; ts_headline (the expensive part) runs on the returned page only.
 */
export async function searchMessages(
  db: SqlExecutor,
  app: string,
  user: string,
  query: SearchQuery,
  bounds: SearchBounds = SEARCH_BOUNDS,
): Promise<SearchHit[]> {
  const visible = await visibleMessages(db, app, user, query.conversWith);
  if (visible > bounds.scanRows) {
    const since = await windowStart(db, app, bounds.windowRows);
    if (since !== undefined) {
      const recent = await rankedHits(db, app, user, query, { rowByRow: true, since });
      if (recent.length >= query.limit) return toHits(recent);
    }
  }
  return toHits(await rankedHits(db, app, user, query, { rowByRow: false }));
}

/** An upper bound of how many messages the user can see (each conversation's last seq). */
async function visibleMessages(
  db: SqlExecutor,
  app: string,
  user: string,
  conversWith: string | undefined,
): Promise<number> {
  const { rows } = await db.query<{ messages: string | number }>(
    `SELECT coalesce(sum(coalesce(visible_until_seq, last_seq)), 0) AS messages FROM conversations
     WHERE app_id = $1 AND owner = $2 AND ($3::text IS NULL OR convers_with = $3::text)`,
    [app, user, conversWith ?? null],
    'search-visible',
  );
  return Number(rows[0]?.messages ?? 0);
}

/** The creation time of the app's `rows`-th newest message; undefined when it has fewer. */
async function windowStart(db: SqlExecutor, app: string, rows: number): Promise<number | undefined> {
  const result = await db.query<{ created_at: string | number }>(
    `SELECT created_at FROM messages WHERE app_id = $1 ORDER BY created_at DESC OFFSET $2 LIMIT 1`,
    [app, rows - 1],
    'search-window',
  );
  const row = result.rows[0];
  return row === undefined ? undefined : Number(row.created_at);
}

interface Plan {
  /**
   * Match row by row: `ts_match_vq` is the `@@` operator as a function, which the word index does
   * not serve, so the window is read through the time index instead of listing every match.
   */
  rowByRow: boolean;
  /** Only messages created at or after this time. */
  since?: number;
}

async function rankedHits(
  db: SqlExecutor,
  app: string,
  user: string,
  query: SearchQuery,
  plan: Plan,
): Promise<HitRow[]> {
  const columns = MESSAGE_COLUMNS.split(', ')
    .map((column) => `m.${column}`)
    .join(', ');
  // Row by row, the newest matches are the candidates (the scan stops once it has them); through
  // the word index, every match is one.
  const [match, candidates] = plan.rowByRow
    ? ['ts_match_vq(m.search_vector, q.query)', 'ORDER BY m.created_at DESC, m.seq DESC LIMIT $7::integer']
    : ['m.search_vector @@ q.query', ''];
  const { rows } = await db.query<HitRow>(
    `WITH q AS (SELECT websearch_to_tsquery('simple', $3) AS query),
     candidates AS (
       SELECT ${columns}, m.search_vector, c.convers_with
       FROM q, conversations c
       JOIN messages m ON m.app_id = c.app_id AND m.conversation_key = c.conversation_key
       WHERE c.app_id = $1 AND c.owner = $2 AND ($4::text IS NULL OR c.convers_with = $4::text)
         AND ${match}
         AND ($6::bigint IS NULL OR m.created_at >= $6::bigint)
         AND (c.visible_until_seq IS NULL OR m.seq <= c.visible_until_seq)
         AND (m.body->'attributes'->>'hiddenFor') IS DISTINCT FROM $2
         AND NOT EXISTS (SELECT 1 FROM message_hidden h
           WHERE h.app_id = m.app_id AND h.user_id = $2 AND h.message_id = m.message_id)
       ${candidates}),
     hits AS (
       SELECT candidates.*, ts_rank(candidates.search_vector, q.query) AS rank
       FROM candidates, q
       ORDER BY rank DESC, candidates.created_at DESC, candidates.seq DESC
       LIMIT $5)
     SELECT hits.*, ts_headline('simple',
         translate(translate(coalesce(hits.text, ''), E'\\x01\\x02\\x03\\x04', ''), '<>', E'\\x03\\x04'), q.query,
         'StartSel=${MATCH_START}, StopSel=${MATCH_END}, MaxWords=35, MinWords=15') AS snippet
     FROM hits, q ORDER BY hits.rank DESC, hits.created_at DESC, hits.seq DESC`,
    [
      app,
      user,
      query.text,
      query.conversWith ?? null,
      query.limit,
      plan.since ?? null,
      ...(plan.rowByRow ? [query.limit * CANDIDATES_PER_HIT] : []),
    ],
  );
  return rows;
}

function toHits(rows: HitRow[]): SearchHit[] {
  return rows.map((row) => ({
    message: toMessage(row),
    conversWith: row.convers_with,
    rank: Number(row.rank),
    snippet: row.snippet.replaceAll(LESS_THAN, '<').replaceAll(GREATER_THAN, '>'),
  }));
}
