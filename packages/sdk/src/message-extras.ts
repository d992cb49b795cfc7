import {
  type MessageChange,
  type MessageCopy,
  type MessageQuote,
  QUOTE_TEXT_LENGTH,
  type ReactionSummary,
} from '@mercurio/protocol';
import { isObject, type ReportInvalid } from './validate.js';

/** What changed a message a client already has (`…/<message_id>/clientupdated` with `change`). */
export type MessageChangeKind = MessageChange;

export const MESSAGE_CHANGES: readonly MessageChangeKind[] = ['edited', 'deleted', 'reactions', 'hidden'];

/** One emoji's reactions on a message: how many, and who (the first 20 by time). */
export type ReactionCount = ReactionSummary[string];

/** A reply's preview of the message it answers, computed when served (so it follows edits and deletes). */
export type Quote = MessageQuote;

/** A message with what edits, deletes, replies, reactions and mentions add to it (each absent when it does not apply). */
export type ChatMessage = MessageCopy & {
  edited_at?: number;
  /** A tombstone: `text` is "", attributes and reactions are gone; the `seq` stays. */
  deleted_at?: number;
  /** Emoji → count and who. */
  reactions?: Record<string, ReactionCount>;
  reply_to?: string;
  quote?: Quote;
  /** The user ids the sender mentioned (participants only). */
  mentions?: string[];
  /** This user is among `mentions`. */
  mentioned?: boolean;
};

/** How long a quote's text is (the server's rule, applied again when a held quote follows an edit). */
export const QUOTE_CHARS = QUOTE_TEXT_LENGTH;

export function quoteText(text: string | null | undefined): string {
  return Array.from(text ?? '')
    .slice(0, QUOTE_CHARS)
    .join('');
}

/**
 * The message with each extra that does not have its documented shape dropped (and reported):
 * what a buggy server or a proxy sends never reaches the app wrongly typed. Mutates and returns it.
 */
export function checkExtras(message: MessageCopy, where: string, report: ReportInvalid): ChatMessage {
  const wrong: string[] = [];
  const drop = (key: string) => {
    wrong.push(key);
    delete message[key];
  };
  for (const key of ['edited_at', 'deleted_at'])
    if (message[key] !== undefined && typeof message[key] !== 'number') drop(key);
  if (message.reply_to !== undefined && typeof message.reply_to !== 'string') drop('reply_to');
  if (message.mentioned !== undefined && typeof message.mentioned !== 'boolean') drop('mentioned');
  if (
    message.mentions !== undefined &&
    !(Array.isArray(message.mentions) && message.mentions.every((m) => typeof m === 'string'))
  )
    drop('mentions');
  if (message.reactions !== undefined && !isReactions(message.reactions)) drop('reactions');
  if (message.quote !== undefined && !isQuote(message.quote)) drop('quote');
  if (wrong.length > 0)
    report(
      `dropped ${wrong.join(', ')} of message ${message.message_id} (${where}): not of the protocol's shape`,
      {
        cause: wrong,
      },
    );
  return message as ChatMessage;
}

function isReactions(value: unknown): value is Record<string, ReactionCount> {
  return (
    isObject(value) &&
    Object.values(value).every(
      (r) =>
        isObject(r) &&
        typeof r.count === 'number' &&
        Array.isArray(r.users) &&
        r.users.every((u) => typeof u === 'string'),
    )
  );
}

function isQuote(value: unknown): value is Quote {
  return (
    isObject(value) &&
    typeof value.message_id === 'string' &&
    typeof value.seq === 'number' &&
    typeof value.sender === 'string' &&
    typeof value.text === 'string'
  );
}

/** A history row standing for a message hidden from this user (delete-for-me): it keeps its seq. */
export interface HiddenStub {
  message_id: string;
  seq: number;
}

export function hiddenStub(row: unknown): HiddenStub | undefined {
  if (!isObject(row) || row.hidden !== true) return undefined;
  if (typeof row.message_id !== 'string' || typeof row.seq !== 'number') return undefined;
  return { message_id: row.message_id, seq: row.seq };
}
