import type { ConversationView, GroupPayload, MessageCopy, PresenceStatus } from '@mercurio/protocol';
import { type ChatMessage, checkExtras, type HiddenStub, hiddenStub } from './message-extras.js';
import type { TokenSource } from './token.js';
import { checkedMessage, type ReportInvalid } from './validate.js';

/** The part of `fetch` the SDK uses, so any implementation (browser, Node, a test double) fits. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<{
  ok: boolean;
  status: number;
  headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}>;

/** An HTTP API refusal: `code` is the stable code of docs/errors.md (`x-mercurio-error`). */
export class MercurioApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'MercurioApiError';
    this.status = status;
    this.code = code;
  }
}

export interface HistoryPage {
  /** Oldest first. */
  messages: ChatMessage[];
  /**
   * Messages this user deleted for themself: not shown, but their seqs are taken (so a missing
   * seq is still a gap).
   */
  hidden: HiddenStub[];
  /** More exist in the direction asked (older for `before`/no cursor, newer for `after`). */
  hasMore: boolean;
  firstSeq: number | null;
  lastSeq: number | null;
}

export interface SearchHit {
  conversWith: string;
  rank: number;
  /** HTML-safe: the text escaped, matches in `<mark>`. */
  snippet: string;
  message: MessageCopy;
}

export interface PresenceInfo {
  user_id: string;
  status: PresenceStatus;
  last_online: number | null;
}

export interface ConversationPage {
  conversations: ConversationView[];
  nextCursor: string | null;
}

interface Envelope {
  success?: boolean;
  result?: unknown;
  group?: unknown;
  has_more?: boolean;
  first_seq?: number | null;
  last_seq?: number | null;
  next_cursor?: string | null;
  err?: { code?: string; message?: string } | string;
  msg?: string;
}

const enc = encodeURIComponent;

/** Mercurio's HTTP API (docs/api.md) for one user: Chat21's routes and Mercurio's `/v1` ones. */
export class Api {
  readonly #base: string;
  readonly #app: string;
  readonly #user: string;
  readonly #tokens: TokenSource;
  readonly #fetch: FetchLike;
  readonly #report: ReportInvalid;

  /** `report` hears of each history message dropped for not fitting the protocol (default: none). */
  constructor(
    base: string,
    app: string,
    user: string,
    tokens: TokenSource,
    fetch: FetchLike,
    report: ReportInvalid = () => undefined,
  ) {
    this.#base = base.replace(/\/+$/, '');
    this.#app = app;
    this.#user = user;
    this.#tokens = tokens;
    this.#fetch = fetch;
    this.#report = report;
  }

  async #request(method: string, path: string, body?: unknown): Promise<Envelope> {
    let token = await this.#tokens.get();
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await this.#fetch(`${this.#base}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = (await response.json().catch(() => ({}))) as Envelope;
      if (response.ok) return json;
      const refused = response.status === 401 || response.status === 403;
      const code =
        response.headers.get('x-mercurio-error') ??
        (typeof json.err === 'object' ? json.err.code : undefined) ??
        `http_${response.status}`;
      // A token refused as invalid or expired: ask the app for a new one, once.
      if (refused && attempt === 0 && this.#tokens.canRefresh && code !== 'forbidden') {
        token = await this.#tokens.refresh();
        continue;
      }
      const message =
        (typeof json.err === 'object' ? json.err.message : json.err) ??
        json.msg ??
        `${method} ${path}: ${response.status}`;
      throw new MercurioApiError(response.status, code, message);
    }
  }

  /** Whether the API accepts `token` (Chat21 route 4): false when refused, undefined when it cannot tell. */
  async checkToken(token: string): Promise<boolean | undefined> {
    try {
      const response = await this.#fetch(`${this.#base}/${enc(this.#app)}/getInfo`, {
        method: 'GET',
        headers: { authorization: `Bearer ${token}` },
      });
      if (response.ok) return true;
      return response.status === 401 || response.status === 403 ? false : undefined;
    } catch {
      return undefined;
    }
  }

  #userPath(): string {
    return `/v1/apps/${enc(this.#app)}/users/${enc(this.#user)}`;
  }

  async history(
    conversWith: string,
    /**
     * `minSeq`: a seq this client has already seen in the conversation; the server answers from
     * where it is stored (a read replica that lags behind it hands the page to the primary).
     */
    page: { before?: number; after?: number; limit?: number; minSeq?: number } = {},
  ): Promise<HistoryPage> {
    const query = new URLSearchParams();
    if (page.before !== undefined) query.set('before', String(page.before));
    if (page.after !== undefined) query.set('after', String(page.after));
    if (page.limit !== undefined) query.set('limit', String(page.limit));
    if (page.minSeq !== undefined) query.set('min_seq', String(page.minSeq));
    const json = await this.#request(
      'GET',
      `${this.#userPath()}/conversations/${enc(conversWith)}/messages?${query}`,
    );
    return this.#page(conversWith, json, `the history of ${conversWith}`);
  }

  /** The replies to one message, oldest first, paged forward (`after` a seq) like history. */
  async replies(
    conversWith: string,
    messageId: string,
    page: { after?: number; limit?: number } = {},
  ): Promise<HistoryPage> {
    const query = new URLSearchParams();
    if (page.after !== undefined) query.set('after', String(page.after));
    if (page.limit !== undefined) query.set('limit', String(page.limit));
    const json = await this.#request(
      'GET',
      `${this.#userPath()}/conversations/${enc(conversWith)}/messages/${enc(messageId)}/replies?${query}`,
    );
    return this.#page(conversWith, json, `the replies to ${messageId}`);
  }

  /** A page of messages, each checked like live ones (gap fill emits them as `message` events). */
  #page(conversWith: string, json: Envelope, source: string): HistoryPage {
    const rows = Array.isArray(json.result) ? json.result : [];
    if (json.result !== undefined && !Array.isArray(json.result))
      this.#report(`dropped ${source}: its result is not a list`, { cause: json.result });
    const messages: ChatMessage[] = [];
    const hidden: HiddenStub[] = [];
    for (const row of rows) {
      const stub = hiddenStub(row);
      if (stub) {
        hidden.push(stub);
        continue;
      }
      const message = checkedMessage(conversWith, row, { source }, this.#report);
      if (message) messages.push(checkExtras(message, source, this.#report));
    }
    return {
      messages,
      hidden,
      hasMore: json.has_more === true,
      firstSeq: typeof json.first_seq === 'number' ? json.first_seq : null,
      lastSeq: typeof json.last_seq === 'number' ? json.last_seq : null,
    };
  }

  async conversations(
    options: { archived?: boolean; limit?: number; cursor?: string } = {},
  ): Promise<ConversationPage> {
    const query = new URLSearchParams({ archived: String(options.archived ?? false) });
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    const json = await this.#request('GET', `${this.#userPath()}/conversations?${query}`);
    return {
      conversations: (json.result as ConversationView[] | undefined) ?? [],
      nextCursor: json.next_cursor ?? null,
    };
  }

  async search(q: string, options: { conversation?: string; limit?: number } = {}): Promise<SearchHit[]> {
    const query = new URLSearchParams({ q });
    if (options.conversation !== undefined) query.set('conversation', options.conversation);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    const json = await this.#request('GET', `${this.#userPath()}/search?${query}`);
    return (json.result as SearchHit[] | undefined) ?? [];
  }

  async presence(users: readonly string[]): Promise<PresenceInfo[]> {
    const query = new URLSearchParams({ users: users.join(',') });
    const json = await this.#request('GET', `/v1/apps/${enc(this.#app)}/presence?${query}`);
    return (json.result as PresenceInfo[] | undefined) ?? [];
  }

  async createGroup(group: {
    name: string;
    members: readonly string[];
    id?: string;
    attributes?: Record<string, unknown>;
  }): Promise<GroupPayload> {
    const json = await this.#request('POST', `/${enc(this.#app)}/groups`, {
      group_name: group.name,
      group_members: Object.fromEntries(group.members.map((member) => [member, 1])),
      ...(group.id === undefined ? {} : { group_id: group.id }),
      ...(group.attributes === undefined ? {} : { attributes: group.attributes }),
    });
    return json.group as GroupPayload;
  }

  async group(groupId: string): Promise<GroupPayload> {
    const json = await this.#request('GET', `/${enc(this.#app)}/groups/${enc(groupId)}`);
    return json.result as GroupPayload;
  }

  async addMember(groupId: string, memberId: string): Promise<void> {
    await this.#request('POST', `/${enc(this.#app)}/groups/${enc(groupId)}/members`, { member_id: memberId });
  }

  async removeMember(groupId: string, memberId: string): Promise<void> {
    await this.#request('DELETE', `/${enc(this.#app)}/groups/${enc(groupId)}/members/${enc(memberId)}`);
  }

  async renameGroup(groupId: string, name: string): Promise<void> {
    await this.#request('PUT', `/${enc(this.#app)}/groups/${enc(groupId)}`, { group_name: name });
  }
}
