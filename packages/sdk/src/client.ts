import { formatTopic, inboxPattern, type Topic } from '@mercurio/protocol';
import type { MqttClient } from 'mqtt';
import {
  Api,
  type ConversationPage,
  type FetchLike,
  type HistoryPage,
  type PresenceInfo,
  type SearchHit,
} from './api.js';
import { Connection } from './connection.js';
import { Dedupe } from './dedupe.js';
import {
  type ConnectionState,
  Emitter,
  type EventName,
  type Listener,
  type MercurioEvents,
} from './events.js';
import {
  type SendFileOptions,
  type UploadedAttachment,
  type UploadInput,
  uploadFile,
} from './file-upload.js';
import { SeqTracker } from './gap-fill.js';
import { HeldMessages } from './held-messages.js';
import { InboundDispatch } from './inbound.js';
import { InboxSync } from './inbox-sync.js';
import {
  ActionWaiters,
  actionTopic,
  type EditContent,
  editPayload,
  type MessageAction,
} from './message-actions.js';
import { MessageChanges } from './message-changes.js';
import type { ChatMessage, MessageChangeKind } from './message-extras.js';
import type { ConnectOptions, MessageContent, SendOptions } from './options.js';
import { memoryStorage, Outbox, type OutboxEntry } from './outbox.js';
import { OutboxSender } from './outbox-sender.js';
import { outgoingPayload } from './outgoing.js';
import { OwnCopies } from './own-copies.js';
import { readClaims, TokenSource } from './token.js';
import type { ReportInvalid } from './validate.js';

const CLOSED = 'the client was closed';

/** A Mercurio (or Chat21) chat client for one user. Create it with `connect()` or `createClient()`. */
export class MercurioClient {
  readonly appId: string;
  readonly userId: string;
  readonly clientId: string;
  readonly #emitter = new Emitter();
  readonly #tokens: TokenSource;
  readonly #api: Api | undefined;
  /** Where files are uploaded (`sendFile`): the HTTP API and the fetch it is called with. */
  readonly #uploads: Omit<Parameters<typeof uploadFile>[0], 'app' | 'tokens'> | undefined;
  readonly #outbox: Outbox;
  readonly #sender: OutboxSender;
  readonly #tracker = new SeqTracker();
  readonly #sync: InboxSync;
  readonly #inbound: InboundDispatch;
  readonly #connection: Connection;
  readonly #newId: () => string;
  readonly #held: HeldMessages;
  readonly #waiters = new ActionWaiters();
  readonly #actionTimeoutMs: number;
  readonly #ownCopies = new OwnCopies();
  /** The latest action made on each message, until it settles (see `#action`). */
  readonly #actionsOn = new Map<string, Promise<void>>();
  readonly #ownCopyWaitMs: number;
  #state: ConnectionState = 'disconnected';

  constructor(options: ConnectOptions) {
    const claims = readClaims(options.token);
    const appId = options.appId ?? claims.app_id;
    const userId = options.userId ?? claims.sub;
    if (!appId) throw new TypeError('appId is required (the token has no app_id)');
    if (!userId) throw new TypeError('userId is required (the token has no sub)');
    this.appId = appId;
    this.userId = userId;
    this.#newId =
      options.newId ?? (() => (globalThis as { crypto: { randomUUID(): string } }).crypto.randomUUID());
    this.clientId = options.clientId ?? `${userId}_${this.#newId().slice(0, 8)}`;
    this.#tokens = new TokenSource(options.token, options.tokenRefresh);
    // What a buggy server or a proxy puts into the inbox never reaches the app: it is dropped and told.
    const report: ReportInvalid = (message, details) => this.#error('invalid_event', message, details);
    const fetch = options.fetch ?? (globalThis.fetch?.bind(globalThis) as FetchLike | undefined);
    this.#uploads = options.apiEndpoint && fetch ? { apiEndpoint: options.apiEndpoint, fetch } : undefined;
    this.#api =
      options.apiEndpoint && fetch
        ? new Api(options.apiEndpoint, appId, userId, this.#tokens, fetch, report)
        : undefined;
    this.#outbox = new Outbox(options.storage ?? memoryStorage());
    this.#sender = new OutboxSender(this.#outbox, () => this.#connection.client, this.#emitter);
    const api = this.#api;
    this.#held = new HeldMessages(options.heldMessagesPerConversation);
    this.#actionTimeoutMs = options.actionTimeoutMs ?? 30_000;
    this.#ownCopyWaitMs = options.ownCopyWaitMs ?? 5000;
    // A refusal names the refused topic: an edit, delete or reaction waiting on it hears of it.
    this.#emitter.on('error', (error) => {
      if (error.topic !== undefined) this.#waiters.refused(error.topic, error.code, error.message);
    });
    const pageSize = options.gapFillPageSize ?? 100;
    this.#sync = new InboxSync({
      emitter: this.#emitter,
      dedupe: new Dedupe(options.dedupeCapacity),
      tracker: this.#tracker,
      fetchPage:
        api &&
        ((conversWith, after, seen) => api.history(conversWith, { after, limit: pageSize, minSeq: seen })),
      gapHoldMs: options.gapHoldMs ?? 1000,
      admit: (conversWith, message) => this.#held.admit(conversWith, message),
      error: (code, message, extra) => this.#error(code, message, extra),
    });
    const changes = new MessageChanges(this.#emitter, this.#held, this.#waiters, report);
    this.#inbound = new InboundDispatch(this.#emitter, this.#sync, report, changes, (id) =>
      this.#ownCopies.arrived(id),
    );
    const presence = this.#topic({ kind: 'presence', app: appId, user: userId, clientId: this.clientId });
    this.#connection = new Connection({
      endpoint: options.endpoint,
      clientId: this.clientId,
      tokens: this.#tokens,
      will: { topic: presence, payload: JSON.stringify({ disconnected: true }) },
      mqttOptions: {
        ...options.mqttOptions,
        ...(options.createWebSocket ? { createWebsocket: options.createWebSocket } : {}),
      },
      reconnectDelayMs: options.reconnectDelayMs ?? 1000,
      maxReconnectDelayMs: options.maxReconnectDelayMs ?? 30_000,
      checkToken: this.#api ? (token) => this.#api!.checkToken(token) : undefined,
      onConnect: (client) => this.#onConnect(client, presence),
      onReady: () => {
        this.#sender.flush();
        void this.#sync.fill();
      },
      onDisconnect: () => this.#sender.newConnection(),
      onMessage: (topic, payload) => this.#inbound.receive(topic, payload),
      onState: (state, reason) => this.#setState(state, reason),
      onError: (code, message, cause) => this.#error(code, message, { cause }),
    });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  on<K extends EventName>(name: K, listener: Listener<K>): () => void {
    return this.#emitter.on(name, listener);
  }

  once<K extends EventName>(name: K, listener: Listener<K>): () => void {
    return this.#emitter.once(name, listener);
  }

  off<K extends EventName>(name: K, listener: Listener<K>): void {
    this.#emitter.off(name, listener);
  }

  /** Starts connecting (and reconnecting); `connect()` calls it. */
  start(): void {
    void this.#outbox.load().then(() => this.#sender.flush());
    this.#connection.start();
  }

  /**
   * While (re)connecting: try now instead of after the backoff, e.g. when the user taps "retry" on
   * a message waiting in the outbox. Whatever is pending goes out as soon as the connection is up.
   */
  retryNow(): void {
    this.#connection.retryNow();
  }

  /** Connects again after `unauthorized` or `close()`, optionally with a new token. */
  async reconnect(token?: string): Promise<void> {
    if (token !== undefined) this.#tokens.set(token);
    await this.#connection.restart();
  }

  /**
   * Sends a direct or group message (QoS 1). It waits in the outbox while offline; resolves
   * once the broker has it. The `message_id` is kept across retries, so it is stored once.
   * Every message says its kind (`channel_type`): a group message when `options.group` says so
   * (or `to` is a group-form id), a direct message otherwise; see `sendDirect` and `sendGroup`.
   */
  async sendMessage(
    to: string,
    content: MessageContent,
    options: SendOptions = {},
  ): Promise<{ message_id: string }> {
    const messageId =
      options.messageId ??
      (typeof content === 'object' && typeof content.message_id === 'string'
        ? content.message_id
        : undefined) ??
      this.#newId();
    const payload = outgoingPayload(to, content, messageId, options);
    const topic = this.#topic({ kind: 'outgoing', app: this.appId, user: this.userId, recipient: to });
    // Actions on it wait for its own copy (several routers: see OwnCopies).
    this.#ownCopies.expect(messageId);
    try {
      await this.#sender.send(messageId, topic, payload);
    } catch (error) {
      this.#ownCopies.arrived(messageId);
      throw error;
    }
    this.#ownCopies.acknowledged(messageId, this.#ownCopyWaitMs);
    return { message_id: messageId };
  }

  /** A direct message to a user: never delivered to a group, whatever groups exist. */
  sendDirect(
    userId: string,
    content: MessageContent,
    options: Omit<SendOptions, 'group'> = {},
  ): Promise<{ message_id: string }> {
    return this.sendMessage(userId, content, { ...options, group: false });
  }

  /** A message to a group (with `members` in `options.group`: created inline on first use). */
  sendGroup(
    groupId: string,
    content: MessageContent,
    options: Omit<SendOptions, 'group'> & { group?: { members: readonly string[]; name?: string } } = {},
  ): Promise<{ message_id: string }> {
    return this.sendMessage(groupId, content, { ...options, group: options.group ?? true });
  }

  /**
   * A message to a conversation, optionally replying to an earlier message of it (`replyTo`) and
   * mentioning users (`mentions`, user ids); otherwise `sendMessage`.
   */
  send(
    conversWith: string,
    content: { text: string } & Omit<SendOptions, 'messageId'> & { messageId?: string },
  ): Promise<{ message_id: string }> {
    const { text, ...options } = content;
    return this.sendMessage(conversWith, text, options);
  }

  /**
   * Edits a message this user sent. Resolves with the message as edited (the held object,
   * updated in place) once the server applied it; rejects with a `MercurioActionError` carrying
   * the server's code when it refuses (`not_author`, `message_not_found`, `message_deleted`,
   * `edit_window_expired`, `invalid_payload`). Waits in the outbox while offline.
   */
  editMessage(
    conversWith: string,
    messageId: string,
    content: EditContent | string,
  ): Promise<ChatMessage | undefined> {
    return this.#action(conversWith, messageId, 'edit', editPayload(content), 'edited');
  }

  /**
   * Deletes a message: for everyone (the author; a group's owner) it becomes a tombstone for
   * every party; for me it is hidden from this user's timeline only. Settles like `editMessage`.
   */
  deleteMessage(
    conversWith: string,
    messageId: string,
    options: { for?: 'everyone' | 'me' } = {},
  ): Promise<ChatMessage | undefined> {
    const scope = options.for ?? 'everyone';
    return this.#action(
      conversWith,
      messageId,
      'delete',
      { for: scope },
      scope === 'me' ? 'hidden' : 'deleted',
    );
  }

  /**
   * Adds this user's reaction (one emoji) to a message; adding it twice is one reaction.
   * Resolves with the message and its new counts; rejects (`invalid_reaction`,
   * `too_many_reactions`, `message_not_found`, `message_deleted`) like `editMessage`.
   */
  react(conversWith: string, messageId: string, emoji: string): Promise<ChatMessage | undefined> {
    return this.#action(conversWith, messageId, 'react', { reaction: emoji, action: 'add' }, 'reactions');
  }

  /** Removes this user's reaction from a message (removing one not there changes nothing). */
  unreact(conversWith: string, messageId: string, emoji: string): Promise<ChatMessage | undefined> {
    return this.#action(conversWith, messageId, 'react', { reaction: emoji, action: 'remove' }, 'reactions');
  }

  /** The message with that id as the client holds it (handed over earlier, kept up to date), if it does. */
  heldMessage(conversWith: string, messageId: string): ChatMessage | undefined {
    return this.#held.get(conversWith, messageId);
  }

  /** Marks the conversation read (unread count 0, watermark to its last message). */
  markRead(conversWith: string): Promise<void> {
    return this.#command({ kind: 'conversationUpdate', conversWith }, { is_new: false });
  }

  /** Marks the conversation unread (`is_new: true`). */
  markUnread(conversWith: string): Promise<void> {
    return this.#command({ kind: 'conversationUpdate', conversWith }, { is_new: true });
  }

  /** Read receipt for one message: the sender's copy becomes 250 (return receipt). */
  sendReceipt(conversWith: string, messageId: string): Promise<void> {
    return this.#command({ kind: 'messageUpdate', conversWith, messageId }, { status: 200 });
  }

  archive(conversWith: string): Promise<void> {
    return this.#command({ kind: 'archive', conversWith }, { action: 'archive' });
  }

  unarchive(conversWith: string): Promise<void> {
    return this.#command({ kind: 'unarchive', conversWith }, { action: 'unarchive' });
  }

  /** Typing indicator (QoS 0, never queued: dropped while offline). */
  /**
   * Uploads a file into the conversation with `to` (tus: resumable, retried from the server's
   * offset after an interruption; `onProgress` as bytes arrive) and sends it as Chat21's image or
   * file message (`type` and `metadata` as the server made them). Needs `apiEndpoint`. Rejects
   * with a MercurioApiError (`attachment_too_large`, `attachment_type_not_allowed`,
   * `image_too_large`, `not_a_member`, …) and then sends nothing.
   */
  async sendFile(
    to: string,
    file: UploadInput,
    options: SendFileOptions & Omit<SendOptions, 'group'> = {},
  ): Promise<{ message_id: string; attachment: UploadedAttachment }> {
    if (!this.#uploads) throw new TypeError('sendFile needs apiEndpoint (and fetch)');
    const attachment = await uploadFile(
      { ...this.#uploads, app: this.appId, tokens: this.#tokens },
      to,
      file,
      options,
    );
    const {
      onProgress: _progress,
      name: _name,
      text,
      chunkSize: _chunk,
      retryDelays: _retry,
      signal: _signal,
      ...send
    } = options;
    const sent = await this.sendMessage(
      to,
      { text: text ?? attachment.metadata.name, type: attachment.type, metadata: { ...attachment.metadata } },
      send,
    );
    return { ...sent, attachment };
  }

  async typing(conversWith: string, typing: boolean, writerFullname?: string): Promise<void> {
    const client = this.#connection.client;
    if (!client) return;
    const topic = this.#topic({ kind: 'typing', app: this.appId, user: this.userId, conversWith });
    const payload = { typing, ...(writerFullname === undefined ? {} : { writer_fullname: writerFullname }) };
    await client.publishAsync(topic, JSON.stringify(payload), { qos: 0 });
  }

  /** A history page, oldest first: the newest, older than `before`, or newer than `after`. */
  async history(
    conversWith: string,
    page: { before?: number; after?: number; limit?: number } = {},
  ): Promise<HistoryPage> {
    const result = await this.#requireApi().history(conversWith, page);
    // A conversation the app looked at is one whose gaps are filled after a reconnect.
    const newest = Math.max(0, ...result.messages.map((m) => m.seq), ...result.hidden.map((m) => m.seq));
    if (page.before === undefined && newest > 0) this.#tracker.track(conversWith, newest);
    return this.#hold(conversWith, result);
  }

  /** The replies to a message, oldest first, paged forward from `after` (a seq). */
  async replies(
    conversWith: string,
    messageId: string,
    page: { after?: number; limit?: number } = {},
  ): Promise<HistoryPage> {
    return this.#hold(conversWith, await this.#requireApi().replies(conversWith, messageId, page));
  }

  conversations(
    options: { archived?: boolean; limit?: number; cursor?: string } = {},
  ): Promise<ConversationPage> {
    return this.#requireApi().conversations(options);
  }

  search(q: string, options: { conversation?: string; limit?: number } = {}): Promise<SearchHit[]> {
    return this.#requireApi().search(q, options);
  }

  presence(users: readonly string[]): Promise<PresenceInfo[]> {
    return this.#requireApi().presence(users);
  }

  createGroup(group: {
    name: string;
    members: readonly string[];
    id?: string;
    attributes?: Record<string, unknown>;
  }) {
    return this.#requireApi().createGroup(group);
  }

  group(groupId: string) {
    return this.#requireApi().group(groupId);
  }

  addMember(groupId: string, memberId: string): Promise<void> {
    return this.#requireApi().addMember(groupId, memberId);
  }

  removeMember(groupId: string, memberId: string): Promise<void> {
    return this.#requireApi().removeMember(groupId, memberId);
  }

  leaveGroup(groupId: string): Promise<void> {
    return this.#requireApi().removeMember(groupId, this.userId);
  }

  renameGroup(groupId: string, name: string): Promise<void> {
    return this.#requireApi().renameGroup(groupId, name);
  }

  /** Fill gaps in this conversation from `seq` on after reconnects (e.g. state restored from the app's cache). */
  track(conversWith: string, seq: number): void {
    this.#tracker.track(conversWith, seq);
  }

  /** Outbox entries not yet acknowledged by the broker (copies), e.g. to show them as unsent after a reload. */
  pending(): OutboxEntry[] {
    return this.#outbox.pending().map((entry) => ({ ...entry }));
  }

  /** Says goodbye (presence offline), disconnects and stops reconnecting. Unsent messages stay in storage. */
  async close(): Promise<void> {
    const presence = this.#topic({
      kind: 'presence',
      app: this.appId,
      user: this.userId,
      clientId: this.clientId,
    });
    await this.#connection.stop((client) =>
      client.publishAsync(presence, JSON.stringify({ disconnected: true }), { qos: 1 }).then(() => undefined),
    );
    this.#outbox.abandon(new Error(CLOSED));
    this.#waiters.abandon(new Error(CLOSED));
    this.#ownCopies.releaseAll();
    this.#sync.release();
    this.#setState('disconnected');
  }

  // --- internals ---

  #topic(topic: Topic): string {
    return formatTopic(topic, 'mqtt');
  }

  #requireApi(): Api {
    if (!this.#api)
      throw new TypeError(
        'this needs the HTTP API: pass apiEndpoint (and fetch where there is no global one)',
      );
    return this.#api;
  }

  #setState(state: ConnectionState, reason?: string): void {
    if (state === this.#state) return;
    const old = this.#state;
    this.#state = state;
    this.#emitter.emit('state', { old, new: state, ...(reason === undefined ? {} : { reason }) });
  }

  #error(code: string, message: string, extra: Partial<MercurioEvents['error']> = {}): void {
    this.#emitter.emit('error', { code, message, timestamp: Date.now(), ...extra });
  }

  /** Messages of a page handed to the app are held, so that later changes update them in place. */
  #hold(conversWith: string, page: HistoryPage): HistoryPage {
    const messages = page.messages.flatMap((message) => {
      const held = this.#held.admit(conversWith, message);
      return held ? [held] : [];
    });
    return { ...page, messages };
  }

  /** Publishes an action on a message and settles with the server's answer (see `editMessage`). */
  async #action(
    conversWith: string,
    messageId: string,
    action: MessageAction,
    payload: Record<string, unknown>,
    answer: MessageChangeKind,
  ): Promise<ChatMessage | undefined> {
    const topic = actionTopic(this.appId, this.userId, conversWith, messageId, action);
    const waiting = this.#waiters.wait(conversWith, messageId, answer, topic);
    // Each kind of action on a message has its own routing key, so with several routers two of
    // them may be processed in either order: an action waits for the previous one's answer.
    const previous = this.#actionsOn.get(messageId);
    const done = waiting.settled.then(
      () => undefined,
      () => undefined,
    );
    this.#actionsOn.set(messageId, done);
    void done.then(() => {
      if (this.#actionsOn.get(messageId) === done) this.#actionsOn.delete(messageId);
    });
    // A message this client just sent: the action goes once its copy is back (it is stored), so
    // that it cannot overtake it on another router either.
    const copy = this.#ownCopies.ready(messageId);
    if (previous || copy) {
      await previous;
      await copy;
      // Closed meanwhile: the waiter was rejected, nothing is sent.
      if (this.#ownCopies.closed) return waiting.settled;
    }
    // Once the broker has it, the answer is due: the clock starts then (not while offline).
    this.#sender.send(this.#newId(), topic, payload).then(
      () => waiting.startClock(this.#actionTimeoutMs),
      () => undefined, // closed: the waiters were abandoned with the same reason
    );
    return waiting.settled;
  }

  async #command(
    topic:
      | { kind: 'conversationUpdate' | 'archive' | 'unarchive'; conversWith: string }
      | { kind: 'messageUpdate'; conversWith: string; messageId: string },
    payload: Record<string, unknown>,
  ): Promise<void> {
    await this.#sender.send(
      this.#newId(),
      this.#topic({ ...topic, app: this.appId, user: this.userId } as Topic),
      payload,
    );
  }

  async #onConnect(client: MqttClient, presence: string): Promise<void> {
    // Messages of the persistent session arrive right after CONNACK: hold them until gaps are filled.
    this.#sync.hold();
    this.#sender.newConnection();
    await client.subscribeAsync(inboxPattern(this.appId, this.userId, 'mqtt'), { qos: 1 });
    client.publish(presence, JSON.stringify({ connected: true }), { qos: 1 });
  }
}
