export { type ConversationKind, conversationKindOf } from '@mercurio/protocol';
export {
  Api,
  type ConversationPage,
  type FetchLike,
  type HistoryPage,
  MercurioApiError,
  type PresenceInfo,
  type SearchHit,
} from './api.js';
export { MercurioClient } from './client.js';
export { connect, createClient, MercurioConnectError } from './connect.js';
export { Dedupe } from './dedupe.js';
export * from './events.js';
export type {
  AttachmentMetadata,
  SendFileOptions,
  UploadedAttachment,
  UploadInput,
  UploadProgress,
} from './file-upload.js';
export { type EditContent, MercurioActionError, type MessageAction } from './message-actions.js';
export {
  type ChatMessage,
  type HiddenStub,
  type MessageChangeKind,
  QUOTE_CHARS,
  type Quote,
  quoteText,
  type ReactionCount,
} from './message-extras.js';
export type { ConnectOptions, MessageContent, SendOptions } from './options.js';
export { memoryStorage, type OutboxEntry, type OutboxStorage } from './outbox.js';
export { outgoingPayload } from './outgoing.js';
export { readClaims, type TokenClaims } from './token.js';
