import { MessageStatus } from '@mercurio/protocol';
import { z } from 'zod';
import { quotesFor } from '../../message-actions/quotes.js';
import { MATCH_END, MATCH_START } from '../../store/api-store.js';
import { messageCopy } from '../../views.js';
import { assertActsFor } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { id, queryInt, userParams } from '../schemas.js';
import { snippetHtml } from '../views.js';

/** Full-text search over the messages the user can see, ranked, with highlighted snippets. */
export function searchRoutes(app: ZodApp, ctx: HttpContext): void {
  const max = ctx.settings.searchMax;
  app.get(
    '/v1/apps/:appid/users/:userid/search',
    {
      schema: {
        tags: ['search'],
        summary: 'Full-text search in the messages the user can see, optionally in one conversation',
        description:
          '`q` uses web-search syntax: words (all required), "a phrase", -excluded, `or`. PostgreSQL ' +
          "'simple' configuration: case-insensitive, no stemming, every language alike. `snippet` is HTML-safe " +
          'text with matches in `<mark>`.',
        params: userParams,
        querystring: z.object({
          q: z
            .string()
            .trim()
            .min(1)
            .max(500)
            .refine((q) => /[\p{L}\p{N}]/u.test(q), 'q must contain a letter or a digit')
            .refine((q) => !q.includes('\u0000'), 'q must not contain a NUL character')
            .transform(withoutDanglingNots),
          conversation: id('conversation id').optional(),
          limit: queryInt(1, max).default(Math.min(20, max)),
        }),
      },
    },
    async (request) => {
      const { appid, userid } = request.params;
      assertActsFor(callerOf(request), appid, userid);
      const { q, conversation, limit } = request.query;
      const hits = await ctx.store.searchMessages(appid, userid, {
        text: q,
        conversWith: conversation,
        limit,
      });
      // A reply carries its quote as it is now, as in history (issue 15).
      const quotes = await quotesFor(
        ctx.store,
        appid,
        hits.map((hit) => hit.message),
      );
      return {
        success: true,
        result: hits.map((hit) => {
          const message = messageCopy(
            hit.message,
            hit.message.sender === userid ? MessageStatus.SENT : MessageStatus.DELIVERED,
          );
          const quote = quotes.get(hit.message.messageId);
          return {
            conversWith: hit.conversWith,
            rank: hit.rank,
            snippet: snippetHtml(hit.snippet, MATCH_START, MATCH_END),
            message: quote ? { ...message, quote } : message,
          };
        }),
      };
    },
  );
}

/**
 * A `-` (NOT) that negates no word means nothing, but each one nests the parsed query a level
 * deeper: a few hundred of them overflow PostgreSQL's tsquery stack (an error, not a result).
 */
function withoutDanglingNots(q: string): string {
  return q.replace(/-(?![\p{L}\p{N}"])/gu, ' ');
}
