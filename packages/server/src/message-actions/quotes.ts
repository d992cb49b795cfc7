import { type MessageQuote, QUOTE_TEXT_LENGTH } from '@mercurio/protocol';
import type { MessageActionStore } from '../store/message-action-store.js';
import type { StoredMessage } from '../store/types.js';

/** The quoted preview of a replied-to message, as it is now (it follows edits and deletes). */
export function quoteOf(quoted: StoredMessage): MessageQuote {
  const deleted = typeof quoted.body.deleted_at === 'number';
  const text = deleted || typeof quoted.body.text !== 'string' ? '' : quoted.body.text;
  const quote: MessageQuote = {
    message_id: quoted.messageId,
    seq: quoted.seq,
    sender: quoted.sender,
    text: [...text].slice(0, QUOTE_TEXT_LENGTH).join(''),
  };
  if (typeof quoted.body.sender_fullname === 'string') quote.sender_fullname = quoted.body.sender_fullname;
  if (deleted) quote.deleted = true;
  return quote;
}

/** The id a message replies to, if it is a reply. */
export function replyToOf(message: StoredMessage): string | undefined {
  const replyTo = message.body.reply_to;
  return typeof replyTo === 'string' ? replyTo : undefined;
}

/**
 * The quotes of these messages' replied-to messages, read in one query, by the reply's id. A
 * quoted message of another conversation is never quoted (a stored reply never names one).
 */
export async function quotesFor(
  store: Pick<MessageActionStore, 'findMessages'>,
  app: string,
  messages: readonly StoredMessage[],
): Promise<Map<string, MessageQuote>> {
  const wanted = messages.filter((message) => replyToOf(message) !== undefined);
  if (wanted.length === 0) return new Map();
  const quoted = await store.findMessages(app, [...new Set(wanted.map((m) => replyToOf(m)!))]);
  const byId = new Map(quoted.map((message) => [message.messageId, message]));
  const quotes = new Map<string, MessageQuote>();
  for (const message of wanted) {
    const target = byId.get(replyToOf(message)!);
    if (target && target.conversationKey === message.conversationKey)
      quotes.set(message.messageId, quoteOf(target));
  }
  return quotes;
}
