import { type MessageQuote, ReplyAndMentionsSchema } from '@mercurio/protocol';
import { MercurioError } from '../../errors.js';
import { isDeleted } from '../../message-actions/access.js';
import { participantMentions } from '../../message-actions/mentions.js';
import { quoteOf } from '../../message-actions/quotes.js';
import type { RouterContext } from '../context.js';
import type { Decision, MessageDecision } from '../decision.js';

/**
 * A new message's two optional keys (issue 15), checked once its conversation is known:
 * - `reply_to`: a message of the same conversation that the sender can see and that is not
 *   deleted (otherwise refused: `message_not_found`, never telling an id of another conversation
 *   or app apart from an unknown one; `message_deleted`). The copies carry its `quote`.
 * - `mentions`: kept only for participants other than the sender (the direct peer, the group's
 *   members); their conversation rows get `mentioned`, their copies `mentioned: true`.
 */
export async function withReplyAndMentions(ctx: RouterContext, decision: Decision): Promise<Decision> {
  if (!('commit' in decision)) return decision;
  const { message } = decision.commit;
  const parsed = ReplyAndMentionsSchema.safeParse(message.body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MercurioError('invalid_payload', `${issue.path.join('.') || 'payload'}: ${issue.message}`);
  }
  const { reply_to: replyTo, mentions } = parsed.data;
  if (replyTo === undefined && mentions === undefined) return decision;
  const body = { ...message.body };
  let quote: MessageQuote | undefined;
  if (replyTo !== undefined) quote = await checkReply(ctx, decision.commit, replyTo);
  const participants = decision.commit.copies.map((copy) => copy.user);
  const kept = participantMentions(
    mentions,
    message.channelType === 'group' ? participants : [message.recipient],
    message.sender,
  );
  if (kept !== undefined && kept.length > 0) body.mentions = kept;
  else delete body.mentions;
  return {
    commit: {
      ...decision.commit,
      message: { ...message, body, ...(kept && kept.length > 0 ? { mentioned: kept } : {}) },
      ...(quote ? { quote } : {}),
    },
  };
}

async function checkReply(
  ctx: RouterContext,
  decision: MessageDecision,
  replyTo: string,
): Promise<MessageQuote> {
  const { message } = decision;
  const notFound = () =>
    new MercurioError('message_not_found', `reply_to: no message ${replyTo} in this conversation`);
  const quoted = await ctx.store.findMessage(message.app, replyTo);
  if (!quoted || quoted.conversationKey !== message.conversationKey) throw notFound();
  const hiddenFor = (quoted.body.attributes as Record<string, unknown> | undefined)?.hiddenFor;
  if (hiddenFor === message.sender) throw notFound();
  // A redelivery of a reply already stored is published again, even if its quoted message changed since.
  const stored = await ctx.store.findMessage(message.app, message.messageId);
  if (stored) return quoteOf(quoted);
  if ((await ctx.store.hiddenFor(message.app, message.sender, [replyTo])).size > 0) throw notFound();
  if (isDeleted(quoted))
    throw new MercurioError('message_deleted', `reply_to: message ${replyTo} was deleted`);
  return quoteOf(quoted);
}
