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
 * Full-text search over the messages `user` can see: those of conversations they have a row for
 * (up to the moment they left a group), minus messages hidden from them. Ranked by ts_rank, then
 * newest first; ts_headline (the expensive part) runs on the returned page only.
 */
export async function searchMessages(
  db: SqlExecutor,
  app: string,
  user: string,
  query: SearchQuery,
): Promise<SearchHit[]> {
  const columns = MESSAGE_COLUMNS.split(', ')
    .map((column) => `m.${column}`)
    .join(', ');
  const { rows } = await db.query<MessageRow & { convers_with: string; rank: number; snippet: string }>(
    `WITH q AS (SELECT websearch_to_tsquery('simple', $3) AS query),
     hits AS (
       SELECT ${columns}, c.convers_with, ts_rank(m.search_vector, q.query) AS rank
       FROM q, conversations c
       JOIN messages m ON m.app_id = c.app_id AND m.conversation_key = c.conversation_key
       WHERE c.app_id = $1 AND c.owner = $2 AND ($4::text IS NULL OR c.convers_with = $4::text)
         AND m.search_vector @@ q.query
         AND (c.visible_until_seq IS NULL OR m.seq <= c.visible_until_seq)
         AND (m.body->'attributes'->>'hiddenFor') IS DISTINCT FROM $2
       ORDER BY rank DESC, m.created_at DESC, m.seq DESC
       LIMIT $5)
     SELECT hits.*, ts_headline('simple',
         translate(translate(coalesce(hits.text, ''), E'\\x01\\x02\\x03\\x04', ''), '<>', E'\\x03\\x04'), q.query,
         'StartSel=${MATCH_START}, StopSel=${MATCH_END}, MaxWords=35, MinWords=15') AS snippet
     FROM hits, q ORDER BY hits.rank DESC, hits.created_at DESC, hits.seq DESC`,
    [app, user, query.text, query.conversWith ?? null, query.limit],
  );
  return rows.map((row) => ({
    message: toMessage(row),
    conversWith: row.convers_with,
    rank: Number(row.rank),
    snippet: row.snippet.replaceAll(LESS_THAN, '<').replaceAll(GREATER_THAN, '>'),
  }));
}
