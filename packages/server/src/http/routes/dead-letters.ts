import { parseTopic } from '@mercurio/protocol';
import { z } from 'zod';
import { MercurioError } from '../../errors.js';
import type { StoredDeadLetter } from '../../store/dead-letter-store.js';
import { assertAdmin } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { appId, queryInt } from '../schemas.js';

const tags = ['dead letters'];
/** Characters of a letter's body shown in a list. */
const PREVIEW_CHARS = 200;
const letterId = z.string().regex(/^[1-9][0-9]{0,17}$/, 'a dead letter id is a positive whole number');
const letterParams = z.object({ appid: appId(), id: letterId });

/**
 * Admin only, per app (a service token: any app): the messages the router gave up on
 * (docs/operations.md, "Dead letters"), listed, replayed on their original topic, or dropped.
 */
export function deadLetterRoutes(app: ZodApp, ctx: HttpContext): void {
  app.get(
    '/v1/apps/:appid/dead-letters',
    {
      schema: {
        tags,
        summary: 'Dead letters of the app, oldest first, paged (admin only)',
        params: z.object({ appid: appId() }),
        querystring: z.object({
          limit: queryInt(1, 500).default(50),
          after: letterId.optional(),
        }),
      },
    },
    async (request) => {
      const { appid } = request.params;
      assertAdmin(callerOf(request), appid);
      const { limit, after } = request.query;
      const letters = await ctx.deadLetters.list(appid, { limit: limit + 1, after });
      const page = letters.slice(0, limit);
      return {
        success: true,
        result: page.map(letterView),
        next_after: letters.length > limit ? (page[page.length - 1]?.id ?? null) : null,
      };
    },
  );

  app.post(
    '/v1/apps/:appid/dead-letters/:id/replay',
    {
      schema: {
        tags,
        summary: 'Publish a dead letter again on its original topic, and remove it (admin only)',
        params: letterParams,
      },
    },
    async (request) => {
      const { appid, id } = request.params;
      assertAdmin(callerOf(request), appid);
      // Removed only once the broker has accepted it again: a failed publish keeps the letter.
      const replayed = await ctx.deadLetters.take(appid, id, async (letter) => {
        await ctx.bus.publish([replayOf(letter)]);
      });
      if (!replayed) throw notFound(appid, id);
      request.log.info({ app: appid, deadLetter: id }, 'dead letter replayed');
      return { success: true, result: { id, replayed: true } };
    },
  );

  app.delete(
    '/v1/apps/:appid/dead-letters/:id',
    {
      schema: { tags, summary: 'Drop a dead letter (admin only)', params: letterParams },
    },
    async (request) => {
      const { appid, id } = request.params;
      assertAdmin(callerOf(request), appid);
      if (!(await ctx.deadLetters.drop(appid, id))) throw notFound(appid, id);
      request.log.info({ app: appid, deadLetter: id }, 'dead letter dropped');
      return { success: true, result: { id, dropped: true } };
    },
  );
}

function notFound(app: string, id: string): MercurioError {
  return new MercurioError(
    'dead_letter_not_found',
    `no dead letter ${id} in app ${app} (never kept, or already replayed or dropped)`,
  );
}

function letterView(letter: StoredDeadLetter) {
  const parsed = parseTopic(letter.topic, 'mqtt');
  const text = letter.body.toString('utf8');
  return {
    id: letter.id,
    topic: letter.topic,
    kind: parsed.ok ? parsed.topic.kind : null,
    sender: parsed.ok && 'user' in parsed.topic ? parsed.topic.user : null,
    attempts: letter.attempts,
    error: letter.error,
    failed_at: letter.failedAt,
    payload_size: letter.body.length,
    payload_preview: text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text,
  };
}

/** The letter as it was first published: its topic and its JSON payload. */
function replayOf(letter: StoredDeadLetter) {
  const parsed = parseTopic(letter.topic, 'mqtt');
  if (!parsed.ok)
    throw new MercurioError(
      'invalid_topic',
      `dead letter ${letter.id} has no replayable topic: ${parsed.reason}`,
    );
  let payload: unknown;
  try {
    payload = JSON.parse(letter.body.toString('utf8'));
  } catch {
    throw new MercurioError('invalid_json', `dead letter ${letter.id} is not JSON: it can only be dropped`);
  }
  return { topic: parsed.topic, payload };
}
