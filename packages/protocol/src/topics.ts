import { checkAppId, checkId, type IdCheck } from './ids.js';

/**
 * The Chat21 topic grammar (chat21-protocol.md §1.2, §2), in one table used by the parser, the
 * formatter and the subscription patterns alike. The same topic has two spellings: MQTT levels
 * separated by '/', AMQP routing-key words separated by '.'. Ids can contain neither (ids.ts),
 * so converting between the forms is only a change of separator.
 */
export type TopicForm = 'mqtt' | 'amqp';

export type Topic =
  // client -> broker (inbound to the router)
  | { kind: 'outgoing'; app: string; user: string; recipient: string }
  | { kind: 'messageUpdate'; app: string; user: string; conversWith: string; messageId: string }
  // Mercurio: change a message of the conversation (issue 15), in the user's own namespace
  | { kind: 'messageEdit'; app: string; user: string; conversWith: string; messageId: string }
  | { kind: 'messageDelete'; app: string; user: string; conversWith: string; messageId: string }
  | { kind: 'messageReact'; app: string; user: string; conversWith: string; messageId: string }
  | { kind: 'conversationUpdate'; app: string; user: string; conversWith: string }
  | { kind: 'archive'; app: string; user: string; conversWith: string }
  | { kind: 'unarchive'; app: string; user: string; conversWith: string }
  | { kind: 'presence'; app: string; user: string; clientId: string }
  | { kind: 'typing'; app: string; user: string; conversWith: string }
  // service -> router, in the apps/observer/… namespace no user scope can write
  | { kind: 'groupsUpdate'; app: string }
  | { kind: 'historyDelivery'; app: string; user: string; conversWith: string }
  // router -> client, in the user's own inbox apps/<app>/users/<user>/…
  | { kind: 'messageAdded'; app: string; user: string; conversWith: string }
  | { kind: 'messageUpdated'; app: string; user: string; conversWith: string; messageId: string }
  | { kind: 'conversationAdded'; app: string; user: string; conversWith: string }
  | { kind: 'conversationUpdated'; app: string; user: string; conversWith: string }
  | { kind: 'conversationDeleted'; app: string; user: string; conversWith: string }
  | { kind: 'archivedConversationAdded'; app: string; user: string; conversWith: string }
  | { kind: 'archivedConversationDeleted'; app: string; user: string; conversWith: string }
  | { kind: 'groupUpdated'; app: string; user: string; groupId: string }
  | { kind: 'presenceChanged'; app: string; user: string; peer: string }
  | { kind: 'typingChanged'; app: string; user: string; conversWith: string }
  | { kind: 'error'; app: string; user: string };

export type TopicKind = Topic['kind'];
export type TopicOf<K extends TopicKind> = Extract<Topic, { kind: K }>;
/** A refusal says whether an id was at fault (`invalid_id`) or the topic's shape (`invalid_topic`). */
export type ParseResult =
  | { ok: true; topic: Topic }
  | { ok: false; reason: string; code: 'invalid_topic' | 'invalid_id' };

/** RabbitMQ refuses longer routing keys; an MQTT topic maps to a routing key of the same length. */
export const MAX_TOPIC_BYTES = 255;

type FieldOf<T> = T extends unknown ? Exclude<keyof T, 'kind'> : never;
type TopicField = FieldOf<Topic>;
type Keyword =
  | 'apps'
  | 'observer'
  | 'outgoing'
  | 'users'
  | 'messages'
  | 'conversations'
  | 'archived_conversations'
  | 'groups'
  | 'presence'
  | 'typing'
  | 'errors'
  | 'update'
  | 'edit'
  | 'delete'
  | 'react'
  | 'archive'
  | 'unarchive'
  | 'delivered'
  | 'clientadded'
  | 'clientupdated'
  | 'clientdeleted';
// A template may only name fields of its own Topic variant; the round-trip tests prove it names all of them.
type Template<K extends TopicKind> = readonly (Keyword | `{${FieldOf<TopicOf<K>> & string}}`)[];

/**
 * Every topic, level by level: keywords are literal, '{field}' is an id. Templates of equal
 * length always differ in some keyword position (topics.test.ts checks this), so ids that
 * happen to equal keywords (a user called 'update') never make a topic ambiguous.
 */
export const TOPIC_TEMPLATES = {
  outgoing: ['apps', '{app}', 'outgoing', 'users', '{user}', 'messages', '{recipient}', 'outgoing'],
  messageUpdate: ['apps', '{app}', 'users', '{user}', 'messages', '{conversWith}', '{messageId}', 'update'],
  messageEdit: ['apps', '{app}', 'users', '{user}', 'messages', '{conversWith}', '{messageId}', 'edit'],
  messageDelete: ['apps', '{app}', 'users', '{user}', 'messages', '{conversWith}', '{messageId}', 'delete'],
  messageReact: ['apps', '{app}', 'users', '{user}', 'messages', '{conversWith}', '{messageId}', 'react'],
  conversationUpdate: ['apps', '{app}', 'users', '{user}', 'conversations', '{conversWith}', 'update'],
  archive: ['apps', '{app}', 'users', '{user}', 'conversations', '{conversWith}', 'archive'],
  unarchive: ['apps', '{app}', 'users', '{user}', 'conversations', '{conversWith}', 'unarchive'],
  presence: ['apps', '{app}', 'users', '{user}', 'presence', '{clientId}'],
  typing: ['apps', '{app}', 'users', '{user}', 'typing', '{conversWith}'],
  groupsUpdate: ['apps', 'observer', '{app}', 'groups', 'update'],
  historyDelivery: ['apps', 'observer', '{app}', 'users', '{user}', 'messages', '{conversWith}', 'delivered'],
  messageAdded: ['apps', '{app}', 'users', '{user}', 'messages', '{conversWith}', 'clientadded'],
  messageUpdated: [
    'apps',
    '{app}',
    'users',
    '{user}',
    'messages',
    '{conversWith}',
    '{messageId}',
    'clientupdated',
  ],
  conversationAdded: ['apps', '{app}', 'users', '{user}', 'conversations', '{conversWith}', 'clientadded'],
  conversationUpdated: [
    'apps',
    '{app}',
    'users',
    '{user}',
    'conversations',
    '{conversWith}',
    'clientupdated',
  ],
  conversationDeleted: [
    'apps',
    '{app}',
    'users',
    '{user}',
    'conversations',
    '{conversWith}',
    'clientdeleted',
  ],
  archivedConversationAdded: [
    'apps',
    '{app}',
    'users',
    '{user}',
    'archived_conversations',
    '{conversWith}',
    'clientadded',
  ],
  archivedConversationDeleted: [
    'apps',
    '{app}',
    'users',
    '{user}',
    'archived_conversations',
    '{conversWith}',
    'clientdeleted',
  ],
  groupUpdated: ['apps', '{app}', 'users', '{user}', 'groups', '{groupId}', 'clientupdated'],
  presenceChanged: ['apps', '{app}', 'users', '{user}', 'presence', '{peer}', 'clientupdated'],
  typingChanged: ['apps', '{app}', 'users', '{user}', 'typing', '{conversWith}', 'clientupdated'],
  error: ['apps', '{app}', 'users', '{user}', 'errors', 'clientadded'],
} as const satisfies { readonly [K in TopicKind]: Template<K> };

/** Kinds the router consumes (client -> broker and service -> router). */
export const INBOUND_KINDS: readonly TopicKind[] = [
  'outgoing',
  'messageUpdate',
  'messageEdit',
  'messageDelete',
  'messageReact',
  'conversationUpdate',
  'archive',
  'unarchive',
  'presence',
  'typing',
  'groupsUpdate',
  'historyDelivery',
];

// How each field is named in reasons, e.g. "recipient id must not contain '#'".
const FIELD_LABELS: Record<TopicField, string> = {
  app: 'app id',
  user: 'user id',
  recipient: 'recipient id',
  conversWith: 'conversWith id',
  messageId: 'message id',
  clientId: 'client id',
  groupId: 'group id',
  peer: 'peer id',
};

const SEPARATOR: Record<TopicForm, string> = { mqtt: '/', amqp: '.' };
const ONE_LEVEL_WILDCARD: Record<TopicForm, string> = { mqtt: '+', amqp: '*' };
const WILDCARDS = ['+', '#', '*'];

type Level = { literal: string } | { field: TopicField };
interface Compiled {
  kind: TopicKind;
  levels: readonly Level[];
}

const COMPILED = new Map<TopicKind, Compiled>();
const BY_LEVEL_COUNT = new Map<number, Compiled[]>();
for (const [kind, template] of Object.entries(TOPIC_TEMPLATES) as [TopicKind, readonly string[]][]) {
  const levels = template.map((level): Level => {
    const field = /^\{(\w+)\}$/.exec(level)?.[1];
    return field === undefined ? { literal: level } : { field: field as TopicField };
  });
  const compiled = { kind, levels };
  COMPILED.set(kind, compiled);
  BY_LEVEL_COUNT.set(levels.length, [...(BY_LEVEL_COUNT.get(levels.length) ?? []), compiled]);
}

function checkField(field: TopicField, value: unknown): IdCheck {
  return field === 'app' ? checkAppId(value) : checkId(value, FIELD_LABELS[field]);
}

/** UTF-8 byte length, the unit of RabbitMQ's limit; a lone surrogate counts as U+FFFD (3 bytes). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
}

function lengthProblem(topic: string): string | undefined {
  const bytes = utf8Length(topic);
  return bytes > MAX_TOPIC_BYTES
    ? `topic is ${bytes} bytes long; the limit is ${MAX_TOPIC_BYTES} bytes (RabbitMQ's routing-key limit)`
    : undefined;
}

function matchTemplate(levels: readonly string[]): Compiled | undefined {
  return BY_LEVEL_COUNT.get(levels.length)?.find((template) =>
    template.levels.every((level, i) => !('literal' in level) || level.literal === levels[i]),
  );
}

/** Why a topic that matches no template is wrong, as precisely as can be told. */
function diagnose(topic: string, levels: readonly string[], form: TopicForm): string {
  const sep = SEPARATOR[form];
  if (topic === '') return 'topic must not be empty';
  if (levels[0] === '') return `topic must not start with '${sep}'`;
  if (levels[levels.length - 1] === '') return `topic must not end with '${sep}'`;
  if (levels.includes('')) return `topic must not contain an empty level ('${sep}${sep}')`;
  const wildcard = WILDCARDS.find((w) => topic.includes(w));
  if (wildcard !== undefined) return `topic must not contain the wildcard '${wildcard}'`;
  if (form === 'mqtt' && topic.includes('.')) return `an MQTT topic level must not contain '.'`;
  if (form === 'amqp' && topic.includes('/')) return `an AMQP routing-key word must not contain '/'`;
  return BY_LEVEL_COUNT.has(levels.length)
    ? `unknown topic: no known ${levels.length}-level topic has these keywords`
    : `unknown topic: no known topic has ${levels.length} level${levels.length === 1 ? '' : 's'}`;
}

/** Reads a topic received in `form`; never throws, and accepts only the one spelling formatTopic produces. */
export function parseTopic(topic: string, form: TopicForm): ParseResult {
  if (typeof topic !== 'string')
    return { ok: false, reason: 'topic must be a string', code: 'invalid_topic' };
  const tooLong = lengthProblem(topic);
  if (tooLong !== undefined) return { ok: false, reason: tooLong, code: 'invalid_topic' };
  const levels = topic.split(SEPARATOR[form]);
  const template = matchTemplate(levels);
  if (template === undefined)
    return { ok: false, reason: diagnose(topic, levels, form), code: 'invalid_topic' };
  const fields: Partial<Record<TopicField, string>> = {};
  for (const [i, level] of template.levels.entries()) {
    if ('literal' in level) continue;
    const check = checkField(level.field, levels[i]);
    if (!check.ok) return { ok: false, reason: check.reason, code: 'invalid_id' };
    fields[level.field] = check.value;
  }
  // Sound because each template names exactly the fields of its kind (see Template<K>).
  return { ok: true, topic: { kind: template.kind, ...fields } as Topic };
}

/** The inverse of parseTopic. Throws TypeError when an id is invalid or the topic is too long. */
export function formatTopic(topic: Topic, form: TopicForm): string {
  const template = COMPILED.get(topic.kind);
  if (template === undefined) throw new TypeError(`unknown topic kind '${String(topic.kind)}'`);
  const values = topic as unknown as Record<string, unknown>;
  const formatted = template.levels
    .map((level) => {
      if ('literal' in level) return level.literal;
      const check = checkField(level.field, values[level.field]);
      if (!check.ok) throw new TypeError(`cannot format ${topic.kind} topic: ${check.reason}`);
      return check.value;
    })
    .join(SEPARATOR[form]);
  const tooLong = lengthProblem(formatted);
  if (tooLong !== undefined) throw new TypeError(`cannot format ${topic.kind} topic: ${tooLong}`);
  return formatted;
}

function validated(check: IdCheck): string {
  if (!check.ok) throw new TypeError(check.reason);
  return check.value;
}

/**
 * The subscription (MQTT) or binding (AMQP) pattern matching every topic of `kind`, for one
 * app or, when `app` is undefined, every app. Throws TypeError for an invalid app id.
 */
export function topicPattern(kind: TopicKind, form: TopicForm, app?: string): string {
  const template = COMPILED.get(kind);
  if (template === undefined) throw new TypeError(`unknown topic kind '${String(kind)}'`);
  const appLevel = app === undefined ? ONE_LEVEL_WILDCARD[form] : validated(checkAppId(app));
  return template.levels
    .map((level) => {
      if ('literal' in level) return level.literal;
      return level.field === 'app' ? appLevel : ONE_LEVEL_WILDCARD[form];
    })
    .join(SEPARATOR[form]);
}

/**
 * Every topic of a user's outgoing namespace, of any shape (`apps/<app>/outgoing/#`): the router
 * listens to all of it, so that a topic of no known shape there is refused with an error event
 * rather than dropped unheard. `app` undefined: every app.
 */
export function outgoingNamespacePattern(form: TopicForm, app?: string): string {
  const appLevel = app === undefined ? ONE_LEVEL_WILDCARD[form] : validated(checkAppId(app));
  return ['apps', appLevel, 'outgoing', '#'].join(SEPARATOR[form]);
}

/** Everything the router sends one user: what a client subscribes to (Chat21: apps/<app>/users/<me>/#). */
export function inboxPattern(app: string, user: string, form: TopicForm): string {
  const levels = ['apps', validated(checkAppId(app)), 'users', validated(checkId(user, 'user id')), '#'];
  return levels.join(SEPARATOR[form]);
}
