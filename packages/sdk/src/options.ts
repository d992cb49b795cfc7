import type { OutgoingMessage } from '@mercurio/protocol';
import type { IClientOptions } from 'mqtt';
import type { FetchLike } from './api.js';
import type { OutboxStorage } from './outbox.js';

export interface ConnectOptions {
  /**
   * MQTT endpoint: `ws://host:8004/ws`, `wss://…`, `mqtt://host:1883`; or several (a broker
   * cluster's nodes): after a drop the client connects to the next one.
   */
  endpoint: string | readonly string[];
  /** HTTP API base, e.g. `http://host:8004/api`; needed for history, search, groups, presence and gap fill. */
  apiEndpoint?: string;
  /** Defaults to the token's `app_id`. */
  appId?: string;
  token: string;
  /** Defaults to the token's `sub`. */
  userId?: string;
  /** Stable MQTT client id (keeps the persistent session across reloads); default `<user>_<random>`. */
  clientId?: string;
  /** Called for a new token before the current one expires, and when the server refuses it. */
  tokenRefresh?: () => Promise<string>;
  /** Defaults to `globalThis.fetch`. */
  fetch?: FetchLike;
  /** A WebSocket factory for MQTT.js (its `createWebsocket` option), where the default does not fit. */
  createWebSocket?: IClientOptions['createWebsocket'];
  /** Further MQTT.js options (e.g. `clean: true` for a throwaway session, `keepalive`). */
  mqttOptions?: IClientOptions;
  /** Where the outbox keeps unsent messages; in memory by default. */
  storage?: OutboxStorage;
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /**
   * How long a live message waits for an earlier one of its conversation that has not arrived
   * (copies sent by different routers can overtake each other) before the gap is filled from
   * the history API. Default 1000 ms.
   */
  gapHoldMs?: number;
  /** Messages per history request when filling gaps. */
  gapFillPageSize?: number;
  /** How many message ids are remembered for deduplication. */
  dedupeCapacity?: number;
  /** How many of each conversation's latest messages the client holds, to update them in place on a change. */
  heldMessagesPerConversation?: number;
  /**
   * How long an edit, delete or reaction waits for the server's answer once the broker has it,
   * before its promise rejects with `no_answer` (it may still be applied). Default 30 000 ms.
   */
  actionTimeoutMs?: number;
  /**
   * How long an edit, delete or reaction on a message this client just sent waits for that
   * message's own copy to come back (proof that it is stored: with several routers an action that
   * overtakes its message is refused `message_not_found`), counted from the broker's acknowledgement
   * of the message; then it is sent anyway. Default 5 000 ms.
   */
  ownCopyWaitMs?: number;
  /** Makes message ids (UUIDs); defaults to `crypto.randomUUID`. */
  newId?: () => string;
}

export type MessageContent = string | (OutgoingMessage & Record<string, unknown>);

export interface SendOptions {
  /**
   * The message's kind: a group message (`true`; with `members`, an inline group created on first
   * use) or a direct one (`false`). Unset: direct, unless the content says `channel_type: "group"`
   * or `to` is a group-form id (`group-…`). The payload always carries `channel_type`.
   */
  group?: boolean | { members: readonly string[]; name?: string };
  /** Your own UUID (e.g. for optimistic display); one is generated otherwise. */
  messageId?: string;
  senderFullname?: string;
  recipientFullname?: string;
  attributes?: Record<string, unknown>;
  /** The id of an earlier message of the same conversation this one answers (`reply_to`). */
  replyTo?: string;
  /** User ids this message mentions (the server keeps the conversation's participants only). */
  mentions?: readonly string[];
}
