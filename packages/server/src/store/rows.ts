import type { ConversationRecord, GroupRecord, StoredMessage } from './types.js';

/** Column lists and row → record mappers shared by the store's queries. */

export const MESSAGE_COLUMNS =
  'app_id, conversation_key, seq, message_id, sender, recipient, channel_type, body, text, created_at';

export interface MessageRow {
  app_id: string;
  conversation_key: string;
  seq: number;
  message_id: string;
  sender: string;
  recipient: string;
  channel_type: 'direct' | 'group';
  body: Record<string, unknown>;
  text: string | null;
  created_at: number;
}

export function toMessage(row: MessageRow): StoredMessage {
  return {
    app: row.app_id,
    conversationKey: row.conversation_key,
    seq: Number(row.seq),
    messageId: row.message_id,
    sender: row.sender,
    recipient: row.recipient,
    channelType: row.channel_type,
    body: row.body,
    text: row.text,
    createdAt: Number(row.created_at),
  };
}

export const CONVERSATION_COLUMNS =
  'app_id, owner, convers_with, conversation_key, channel_type, last_seq, last_message, unread_count, read_seq, archived, is_new, updated_at, mentioned, muted';

export interface ConversationRow {
  app_id: string;
  owner: string;
  convers_with: string;
  conversation_key: string;
  channel_type: 'direct' | 'group';
  last_seq: number;
  last_message: Record<string, unknown> | null;
  unread_count: number;
  read_seq: number;
  archived: boolean;
  is_new: boolean;
  mentioned: boolean;
  muted: boolean;
  updated_at: number;
}

export function toConversation(row: ConversationRow): ConversationRecord {
  return {
    app: row.app_id,
    owner: row.owner,
    conversWith: row.convers_with,
    conversationKey: row.conversation_key,
    channelType: row.channel_type,
    lastSeq: Number(row.last_seq),
    lastMessage: row.last_message,
    unreadCount: Number(row.unread_count),
    readSeq: Number(row.read_seq),
    archived: row.archived,
    isNew: row.is_new,
    mentioned: row.mentioned,
    muted: row.muted,
    updatedAt: Number(row.updated_at),
  };
}

export interface GroupRow {
  app_id: string;
  group_id: string;
  name: string;
  owner: string;
  attributes: Record<string, unknown> | null;
  volatile: boolean;
  created_on: number;
  updated_on: number;
  members: string[] | null;
}

export function toGroup(row: GroupRow): GroupRecord {
  return {
    app: row.app_id,
    uid: row.group_id,
    name: row.name,
    owner: row.owner,
    attributes: row.attributes,
    volatile: row.volatile,
    createdOn: Number(row.created_on),
    updatedOn: Number(row.updated_on),
    members: row.members ?? [],
  };
}
