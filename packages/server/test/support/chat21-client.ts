/**
 * A client with the shape of Chat21's `chat21client.js` (bundled in the Chat21 web widget and
 * apps, not on npm), written from chat21-protocol.md alone: §2.1 what it publishes, §2.2 the
 * events and its callbacks, §2.3 its connection parameters, §3 the payloads, §5.3 the REST routes
 * it calls. It knows nothing of Mercurio: tests drive it as a Chat21 app would and assert what
 * that app would see through its callbacks.
 *
 * One deliberate change: Chat21 hard-codes `tilechat` in the inbox subscription, the archive and
 * presence topics (§12 #13), so a deployment with another app id patches its copy; this client
 * uses the configured app id everywhere, as such a patched copy does.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';

export type Json = Record<string, unknown>;
/** What Chat21's client hands its callbacks besides the payload: the parsed topic. */
export interface ParsedTopic {
  conversWith: string;
  topic: string;
}
type Callback = (payload: Json, topic: ParsedTopic) => void;

export interface Chat21ClientOptions {
  appId: string;
  /** The broker, e.g. `ws://host:15675/ws`. */
  MQTTendpoint: string;
  /** The REST base, e.g. `http://host:8004/api`. */
  APIendpoint: string;
}

/** A REST answer as Chat21's client receives it: status and parsed body (text when not JSON). */
export interface RestAnswer {
  status: number;
  body: Json | string;
}

// §2.2: the topic's last level says what happened.
const CLIENTADDED = 'clientadded';
const CLIENTUPDATED = 'clientupdated';
const CLIENTDELETED = 'clientdeleted';

export class Chat21Client {
  readonly appId: string;
  readonly MQTTendpoint: string;
  readonly APIendpoint: string;
  /** §2.1(e): a random UUID per client instance, also the last level of its presence topic. */
  readonly clientId = randomUUID();
  user_id = '';
  jwt = '';
  client: MqttClient | undefined;

  readonly #callbacks = {
    messageAdded: new Map<string, Callback>(),
    messageUpdated: new Map<string, Callback>(),
    conversationAdded: new Map<string, Callback>(),
    conversationUpdated: new Map<string, Callback>(),
    conversationDeleted: new Map<string, Callback>(),
    archivedConversationAdded: new Map<string, Callback>(),
    archivedConversationDeleted: new Map<string, Callback>(),
    groupUpdated: new Map<string, Callback>(),
  };
  readonly #inConversation = {
    messageAdded: new Map<string, { conversWith: string; callback: Callback }>(),
    messageUpdated: new Map<string, { conversWith: string; callback: Callback }>(),
  };

  constructor(options: Chat21ClientOptions) {
    this.appId = options.appId;
    this.MQTTendpoint = options.MQTTendpoint;
    this.APIendpoint = options.APIendpoint;
  }

  /** §2.3: connect, then subscribe the whole inbox once; resolves after SUBACK, as Chat21's callback. */
  connect(user_id: string, jwt: string): Promise<void> {
    this.user_id = user_id;
    this.jwt = jwt;
    const presenceTopic = `apps/${this.appId}/users/${user_id}/presence/${this.clientId}`;
    const client = mqtt.connect(this.MQTTendpoint, {
      keepalive: 10,
      reconnectPeriod: 1000,
      clientId: this.clientId,
      username: 'JWT',
      password: jwt,
      rejectUnauthorized: false,
      clean: true,
      protocolVersion: 4,
      will: { topic: presenceTopic, payload: Buffer.from('{"disconnected":true}'), qos: 1, retain: true },
    });
    this.client = client;
    client.on('message', (topic, payload) => this.#dispatch(topic, payload));
    // §2.1(e): presence at every connect, first and reconnects.
    client.on('connect', () => {
      client.publish(presenceTopic, JSON.stringify({ connected: true }));
    });
    return new Promise((resolve, reject) => {
      client.once('error', reject);
      client.once('connect', () => {
        client.subscribe(`apps/${this.appId}/users/${user_id}/#`, { qos: 0 }, (error) =>
          error ? reject(error) : resolve(),
        );
      });
    });
  }

  // --- callbacks (§2.2); each returns a handler id, as Chat21's ---

  onMessageAdded(callback: Callback): string {
    return this.#add(this.#callbacks.messageAdded, callback);
  }
  onMessageAddedInConversation(conversWith: string, callback: Callback): string {
    const id = randomUUID();
    this.#inConversation.messageAdded.set(id, { conversWith, callback });
    return id;
  }
  onMessageUpdated(callback: Callback): string {
    return this.#add(this.#callbacks.messageUpdated, callback);
  }
  onMessageUpdatedInConversation(conversWith: string, callback: Callback): string {
    const id = randomUUID();
    this.#inConversation.messageUpdated.set(id, { conversWith, callback });
    return id;
  }
  onConversationAdded(callback: Callback): string {
    return this.#add(this.#callbacks.conversationAdded, callback);
  }
  onConversationUpdated(callback: Callback): string {
    return this.#add(this.#callbacks.conversationUpdated, callback);
  }
  onConversationDeleted(callback: Callback): string {
    return this.#add(this.#callbacks.conversationDeleted, callback);
  }
  onArchivedConversationAdded(callback: Callback): string {
    return this.#add(this.#callbacks.archivedConversationAdded, callback);
  }
  onArchivedConversationDeleted(callback: Callback): string {
    return this.#add(this.#callbacks.archivedConversationDeleted, callback);
  }
  onGroupUpdated(callback: Callback): string {
    return this.#add(this.#callbacks.groupUpdated, callback);
  }

  // --- MQTT calls (§2.1) ---

  /** §2.1(a): exactly the fields Chat21's helper builds; no message_id (Chat21 never sends one). */
  sendMessage(
    text: string,
    type: string,
    recipient_id: string,
    recipient_fullname: string,
    sender_fullname: string,
    attributes: Json | null,
    metadata: unknown,
    channel_type: 'direct' | 'group',
  ): Promise<void> {
    const outgoing = { text, type, recipient_fullname, sender_fullname, attributes, metadata, channel_type };
    return this.sendMessageRaw(outgoing, recipient_id);
  }

  sendMessageRaw(outgoing: Json, recipient_id: string): Promise<void> {
    return this.#publish(
      `apps/${this.appId}/outgoing/users/${this.user_id}/messages/${recipient_id}/outgoing`,
      outgoing,
    );
  }

  /** §2.1(b): a receipt; only 200 means anything. */
  updateMessageStatus(messageId: string, conversWith: string, status: number): Promise<void> {
    return this.#publish(
      `apps/${this.appId}/users/${this.user_id}/messages/${conversWith}/${messageId}/update`,
      { status },
    );
  }

  /** §2.1(c). */
  updateConversationIsNew(conversWith: string, is_new: boolean): Promise<void> {
    return this.#publish(`apps/${this.appId}/users/${this.user_id}/conversations/${conversWith}/update`, {
      is_new,
    });
  }

  /** §2.1(d): archive over MQTT, payload `{}`. */
  archiveConversation(conversWith: string): Promise<void> {
    return this.#publish(`apps/${this.appId}/users/${this.user_id}/conversations/${conversWith}/archive`, {});
  }

  // --- REST calls (§5.3), raw JWT in Authorization ---

  /** #14: `group_members` as Chat21's map; the creator is added by the server. */
  groupCreate(name: string, group_id: string | undefined, members: Record<string, 1>): Promise<RestAnswer> {
    const body: Json = { group_name: name, group_members: members };
    if (group_id !== undefined) body.group_id = group_id;
    return this.#rest('POST', `/${this.appId}/groups`, body);
  }
  /** #15. */
  groupData(group_id: string): Promise<RestAnswer> {
    return this.#rest('GET', `/${this.appId}/groups/${group_id}`);
  }
  /** #16. */
  groupJoin(group_id: string, member_id: string): Promise<RestAnswer> {
    return this.#rest('POST', `/${this.appId}/groups/${group_id}/members`, { member_id });
  }
  /** #18. */
  groupLeave(group_id: string, member_id: string): Promise<RestAnswer> {
    return this.#rest('DELETE', `/${this.appId}/groups/${group_id}/members/${member_id}`);
  }
  /** #17. */
  groupSetMembers(group_id: string, members: Record<string, 1>): Promise<RestAnswer> {
    return this.#rest('PUT', `/${this.appId}/groups/${group_id}/members`, { members });
  }
  /** #5 / #7. */
  lastConversations(archived: boolean): Promise<RestAnswer> {
    const list = archived ? 'archived_conversations' : 'conversations';
    return this.#rest('GET', `/${this.appId}/${this.user_id}/${list}`);
  }
  /** #6. */
  archivedConversationsOld(): Promise<RestAnswer> {
    return this.#rest('GET', `/${this.appId}/${this.user_id}/conversations/archived`);
  }
  /** #8. */
  conversationDetail(conversWith: string): Promise<RestAnswer> {
    return this.#rest('GET', `/${this.appId}/${this.user_id}/conversations/${conversWith}`);
  }
  /** #9. */
  archivedConversationDetail(conversWith: string): Promise<RestAnswer> {
    return this.#rest('GET', `/${this.appId}/${this.user_id}/archived_conversations/${conversWith}`);
  }
  /** #10: newest 200, newest first. */
  lastMessages(conversWith: string): Promise<RestAnswer> {
    return this.#rest('GET', `/${this.appId}/${this.user_id}/conversations/${conversWith}/messages`);
  }

  /** §2.3: unsubscribe the inbox, end the client, clear all callbacks. */
  async close(): Promise<void> {
    const client = this.client;
    if (!client) return;
    if (client.connected) await client.unsubscribeAsync(`apps/${this.appId}/users/${this.user_id}/#`);
    await client.endAsync();
    for (const map of Object.values(this.#callbacks)) map.clear();
    for (const map of Object.values(this.#inConversation)) map.clear();
  }

  // --- internals ---

  #add(map: Map<string, Callback>, callback: Callback): string {
    const id = randomUUID();
    map.set(id, callback);
    return id;
  }

  #publish(topic: string, payload: Json): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('not connected'));
    // §2.1: QoS 0, not retained.
    return new Promise((resolve, reject) =>
      client.publish(topic, JSON.stringify(payload), { qos: 0, retain: false }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  }

  async #rest(method: string, path: string, body?: Json): Promise<RestAnswer> {
    const headers: Record<string, string> = { Authorization: this.jwt };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${this.APIendpoint}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: Json | string = text;
    try {
      parsed = JSON.parse(text) as Json;
    } catch {
      // Chat21 answers some errors as plain text (405 `group_name not present!`).
    }
    return { status: response.status, body: parsed };
  }

  /** §2.2: split on `/`, ignore fewer than 7 levels, conversWith = levels[5]. */
  #dispatch(topic: string, raw: Buffer): void {
    const levels = topic.split('/');
    if (levels.length < 7) return;
    let payload: Json;
    try {
      payload = JSON.parse(raw.toString('utf8')) as Json;
    } catch {
      return;
    }
    const kind = levels[4];
    const action = levels[levels.length - 1];
    const parsed: ParsedTopic = { conversWith: levels[5]!, topic };
    const call = (map: Map<string, Callback>) => {
      for (const callback of map.values()) callback(payload, parsed);
    };
    const callIn = (map: Map<string, { conversWith: string; callback: Callback }>) => {
      for (const entry of map.values())
        if (entry.conversWith === parsed.conversWith) entry.callback(payload, parsed);
    };
    if (kind === 'messages' && levels.length === 7 && action === CLIENTADDED) {
      call(this.#callbacks.messageAdded);
      callIn(this.#inConversation.messageAdded);
      // Chat21 clients derive "conversation added" from each message (no server event for it).
      const attributes = payload.attributes as Json | null | undefined;
      if (attributes?.updateconversation !== false) {
        const conversation = { ...payload, is_new: true };
        for (const callback of this.#callbacks.conversationAdded.values()) callback(conversation, parsed);
      }
    } else if (kind === 'messages' && levels.length === 8 && action === CLIENTUPDATED) {
      call(this.#callbacks.messageUpdated);
      callIn(this.#inConversation.messageUpdated);
    } else if (kind === 'conversations' && action === CLIENTUPDATED) {
      call(this.#callbacks.conversationUpdated);
    } else if (kind === 'conversations' && action === CLIENTDELETED) {
      call(this.#callbacks.conversationDeleted);
    } else if (kind === 'archived_conversations' && action === CLIENTADDED) {
      call(this.#callbacks.archivedConversationAdded);
    } else if (kind === 'archived_conversations' && action === CLIENTDELETED) {
      call(this.#callbacks.archivedConversationDeleted);
    } else if (kind === 'groups' && action === CLIENTUPDATED) {
      call(this.#callbacks.groupUpdated);
    }
    // Anything else (presence, typing, Mercurio's errors) is not Chat21's: ignored.
  }
}

/** The callbacks a Chat21 app registers, by name. */
export type Chat21Event =
  | 'messageAdded'
  | 'messageAddedInConversation'
  | 'messageUpdated'
  | 'messageUpdatedInConversation'
  | 'conversationAdded'
  | 'conversationUpdated'
  | 'conversationDeleted'
  | 'archivedConversationAdded'
  | 'archivedConversationDeleted'
  | 'groupUpdated';

export interface Seen {
  event: Chat21Event;
  payload: Json;
  conversWith: string;
}

/**
 * A Chat21 app for tests: its client, with every callback registered (the in-conversation ones
 * for the conversations named), recording what it was called with, in order.
 */
export class Chat21App {
  readonly seen: Seen[] = [];
  readonly #wakers = new Set<() => void>();

  constructor(readonly client: Chat21Client) {
    const record = (event: Chat21Event) => (payload: Json, topic: ParsedTopic) => {
      this.seen.push({ event, payload, conversWith: topic.conversWith });
      for (const wake of this.#wakers) wake();
    };
    client.onMessageAdded(record('messageAdded'));
    client.onMessageUpdated(record('messageUpdated'));
    client.onConversationAdded(record('conversationAdded'));
    client.onConversationUpdated(record('conversationUpdated'));
    client.onConversationDeleted(record('conversationDeleted'));
    client.onArchivedConversationAdded(record('archivedConversationAdded'));
    client.onArchivedConversationDeleted(record('archivedConversationDeleted'));
    client.onGroupUpdated(record('groupUpdated'));
    this.watch = (conversWith: string) => {
      client.onMessageAddedInConversation(conversWith, record('messageAddedInConversation'));
      client.onMessageUpdatedInConversation(conversWith, record('messageUpdatedInConversation'));
    };
  }

  /** Registers the in-conversation callbacks for one conversation. */
  readonly watch: (conversWith: string) => void;

  of(event: Chat21Event, conversWith?: string): Json[] {
    return this.seen
      .filter((s) => s.event === event && (conversWith === undefined || s.conversWith === conversWith))
      .map((s) => s.payload);
  }

  /** Resolves once `count` calls match (past or future). */
  waitFor(match: (seen: Seen) => boolean, count = 1, timeoutMs = 10_000): Promise<Seen[]> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.seen.filter(match);
        if (found.length < count) return;
        finish();
        resolve(found);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out: ${this.seen.filter(match).length} of ${count} callbacks`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#wakers.delete(check);
      };
      this.#wakers.add(check);
      check();
    });
  }

  /** Resolves once a message with this text was added (and returns its payload). */
  async message(text: string, conversWith?: string): Promise<Json> {
    const [seen] = await this.waitFor(
      (s) =>
        s.event === 'messageAdded' &&
        s.payload.text === text &&
        (conversWith === undefined || s.conversWith === conversWith),
    );
    return seen!.payload;
  }
}
