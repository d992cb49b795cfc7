export {
  Api,
  type ConversationPage,
  type FetchLike,
  type HistoryPage,
  MercurioApiError,
  type PresenceInfo,
  type SearchHit,
} from './api.js';
export {
  type ConnectOptions,
  connect,
  createClient,
  MercurioClient,
  MercurioConnectError,
  type MessageContent,
  type SendOptions,
} from './client.js';
export { Dedupe } from './dedupe.js';
export * from './events.js';
export { memoryStorage, type OutboxEntry, type OutboxStorage } from './outbox.js';
export { readClaims, type TokenClaims } from './token.js';
