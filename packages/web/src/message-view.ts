import { SYSTEM_SENDER } from '@mercurio/protocol';
import type { ChatMessage } from '@mercurio/sdk';
import { attachmentOf } from './attachment-files.js';
import { renderAttachment } from './attachment-view.js';
import { clockOf, h } from './dom.js';
import { DELETED_TEXT } from './state.js';

/** The reactions offered by the picker (any one emoji is accepted by the server; these are one tap). */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;

export interface RenderContext {
  /** The signed-in user. */
  user: string;
  /** Whether the user may still write here (a member of the group): otherwise no actions. */
  canAct: boolean;
  /** A group's owner may delete anyone's message for everyone. */
  deleteAny: boolean;
}

export const isDeleted = (message: ChatMessage) => message.deleted_at !== undefined;

/**
 * One message row: the bubble (sender in groups, the quoted message of a reply, the text with
 * its mentions, "edited", time and the sender's mark), the reactions under it, and the actions
 * (reply, react, edit, delete) behind one button per message. Everything the user wrote reaches
 * the page as text nodes (dom.ts). Buttons carry labels, so the row is usable by keyboard and
 * screen reader; what they do is wired once for the whole thread (thread.ts, message-actions.ts).
 */
export function renderMessage(message: ChatMessage, context: RenderContext): HTMLElement {
  // A notice is what the server wrote (group created, member added…); a user's message that
  // calls itself one (`attributes.subtype: "info"`) is drawn as the user's message it is.
  if (message.sender === SYSTEM_SENDER) {
    return h('div', { class: 'info', 'data-id': message.message_id, role: 'note' }, message.text ?? '');
  }
  const mine = message.sender === context.user;
  const deleted = isDeleted(message);
  const bubble = h('div', { class: 'bubble' });
  if (!mine && message.channel_type === 'group') {
    const name = typeof message.sender_fullname === 'string' ? message.sender_fullname : message.sender;
    bubble.append(h('span', { class: 'sender' }, name));
  }
  const quote = message.quote;
  if (quote && !deleted) {
    const who = quote.sender === context.user ? 'You' : (quote.sender_fullname ?? quote.sender);
    bubble.append(
      h(
        'button',
        {
          class: `quote${quote.deleted ? ' quote-deleted' : ''}`,
          type: 'button',
          'data-quote-id': quote.message_id,
          'data-quote-seq': String(quote.seq),
          'aria-label': `Replying to ${who}: ${quote.deleted ? DELETED_TEXT : quote.text}. Show that message`,
        },
        h('span', { class: 'quote-sender' }, who),
        h('span', { class: 'quote-text' }, quote.deleted ? DELETED_TEXT : quote.text),
      ),
    );
  }
  // An image or a file (the server's metadata); its text is its name unless the sender wrote one.
  const attachment = deleted ? undefined : attachmentOf(message);
  if (attachment) bubble.append(renderAttachment(attachment));
  const caption = attachment && message.text === attachment.name ? '' : (message.text ?? '');
  bubble.append(
    deleted
      ? h('span', { class: 'text tombstone' }, DELETED_TEXT)
      : h('span', { class: 'text' }, ...withMentions(caption, message.mentions ?? [])),
    h(
      'span',
      { class: 'stamp' },
      message.edited_at !== undefined && !deleted
        ? h('span', { class: 'edited', title: `edited at ${clockOf(message.edited_at)}` }, 'edited')
        : '',
      h('time', { datetime: new Date(message.timestamp).toISOString() }, clockOf(message.timestamp)),
      mine ? h('span', { class: 'mark' }) : '',
    ),
  );
  const classes = ['message', mine ? 'mine' : 'theirs'];
  if (deleted) classes.push('deleted');
  if (message.mentioned) classes.push('mentioned');
  if (attachment) classes.push(`has-${attachment.kind}`);
  const line = h('div', { class: 'line' }, bubble);
  // Actions for messages the server has (a seq): nothing can be done to one still on its way.
  if (context.canAct && message.seq > 0) {
    line.append(
      h(
        'button',
        {
          class: 'more',
          type: 'button',
          'aria-label': 'Message actions',
          'aria-haspopup': 'true',
          'aria-expanded': 'false',
        },
        '⋯',
      ),
    );
  }
  const row = h('div', { class: classes.join(' '), 'data-id': message.message_id }, line);
  const reactions = renderReactions(message, context.user);
  if (reactions) row.append(reactions);
  if (context.canAct && message.seq > 0)
    row.append(renderActions(message, mine, mine || context.deleteAny, deleted));
  if (mine) row.append(h('button', { class: 'retry', type: 'button', hidden: 'true' }, 'Not sent · Retry'));
  return row;
}

/** The text with each mention of a user it names (`@id`) marked; text nodes only. */
export function withMentions(text: string, mentions: readonly string[]): (Node | string)[] {
  if (mentions.length === 0) return [text];
  const names = [...mentions].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = new RegExp(`@(?:${names.join('|')})(?![\\w.-])`, 'gu');
  const parts: (Node | string)[] = [];
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > at) parts.push(text.slice(at, match.index));
    parts.push(h('span', { class: 'mention' }, match[0]));
    at = match.index + match[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function renderReactions(message: ChatMessage, user: string): HTMLElement | undefined {
  const entries = Object.entries(message.reactions ?? {}).filter(([, r]) => r.count > 0);
  if (entries.length === 0 || isDeleted(message)) return undefined;
  return h(
    'div',
    { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
    ...entries.map(([emoji, reaction]) => {
      const mineToo = reaction.users.includes(user);
      const who = reaction.users.join(', ');
      return h(
        'button',
        {
          class: `reaction${mineToo ? ' yours' : ''}`,
          type: 'button',
          'data-emoji': emoji,
          'aria-pressed': String(mineToo),
          'aria-label': `${emoji} ${reaction.count}${mineToo ? ', yours included: remove yours' : `: add yours`}`,
          title: who,
        },
        h('span', { class: 'emoji' }, emoji),
        h('span', { class: 'count' }, String(reaction.count)),
      );
    }),
  );
}

function renderActions(
  message: ChatMessage,
  mine: boolean,
  deleteForAll: boolean,
  deleted: boolean,
): HTMLElement {
  const button = (action: string, label: string) =>
    h('button', { class: 'action', type: 'button', 'data-action': action }, label);
  const actions = h('div', {
    class: 'actions',
    role: 'group',
    'aria-label': 'Message actions',
    hidden: 'true',
  });
  if (!deleted) actions.append(button('reply', 'Reply'), button('react', 'React'));
  if (mine && !deleted) actions.append(button('edit', 'Edit'));
  actions.append(button('delete-me', 'Delete for me'));
  if (deleteForAll && !deleted) actions.append(button('delete-everyone', 'Delete for everyone'));
  const picker = h(
    'div',
    { class: 'picker', role: 'group', 'aria-label': 'Pick a reaction', hidden: 'true' },
    ...QUICK_REACTIONS.map((emoji) =>
      h(
        'button',
        { class: 'pick', type: 'button', 'data-emoji': emoji, 'aria-label': `React with ${emoji}` },
        emoji,
      ),
    ),
  );
  return h(
    'div',
    { class: 'tools', 'data-for': message.message_id },
    actions,
    picker,
    h('p', { class: 'action-error', role: 'alert', hidden: 'true' }),
  );
}
