import fc from 'fast-check';
import { badIdArbitrary, CORPUS_SEED, nested, TOKEN_CASES, type TokenContext } from './security-corpus.js';

/**
 * The HTTP half of the security corpus: every route of src/http/routes with bad ids in paths,
 * other users' ids (IDOR), bad paging cursors and limits, hostile search strings, bad JSON and
 * wrong content types. A refusal is a 4xx with its stable code in `x-mercurio-error`; a request
 * that is harmless (SQL-ish search text) is answered normally and shows nothing of anyone else.
 */

export interface HttpCorpusContext extends TokenContext {
  /** The attacker (a user of the app with a valid token). */
  me: string;
  /** A group of the bystanders; the attacker is not a member. */
  group: string;
  /** `Authorization` values. */
  tokens: { me: string; admin: string; otherApp: string };
  /** The HTTP API's path prefix, e.g. '/api'. */
  base: string;
}

export interface HttpResponseView {
  status: number;
  code: string | undefined;
  json(): unknown;
  body: string;
}

export interface HttpCase {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, after the base path (e.g. `/<app>/groups`). */
  path: (x: HttpCorpusContext) => string;
  /** Default: the attacker's token; a function: any token. */
  auth?: 'me' | 'admin' | 'otherApp' | 'none' | ((x: HttpCorpusContext) => Promise<string> | string);
  /** A string is sent as is; anything else as JSON. */
  body?: string | Buffer | Record<string, unknown> | ((x: HttpCorpusContext) => unknown);
  contentType?: string;
  /** The status, or the statuses that are each correct; and the code every 4xx must carry. */
  status: number | readonly number[];
  code?: string | readonly string[];
  /** For a request that is answered normally: what the answer must (not) show. */
  check?: (response: HttpResponseView, x: HttpCorpusContext) => void;
  pending?: string;
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const enc = encodeURIComponent;

/** Both API flavours: Chat21's routes answer 403 for a bad token, Mercurio's 401. */
const tokenCases: HttpCase[] = TOKEN_CASES.flatMap((t): HttpCase[] => {
  const auth = (x: HttpCorpusContext) => t.token(x, x.me);
  return [
    {
      name: `token ${t.name} (Chat21 route)`,
      method: 'GET',
      path: (x) => `/${x.app}/${x.me}/conversations`,
      auth,
      status: 403,
      code: t.httpCode,
    },
    {
      name: `token ${t.name} (Mercurio route)`,
      method: 'GET',
      path: (x) => `/v1/apps/${x.app}/users/${x.me}/conversations`,
      auth,
      status: 401,
      code: t.httpCode,
    },
  ];
});

/** Another user's data, through every route that takes a user id (IDOR). Chat21: 401, Mercurio: 403. */
const idorCases: HttpCase[] = [
  [
    'Chat21 #5 conversations',
    'GET',
    (x: HttpCorpusContext) => `/${x.app}/${x.bystanders.b}/conversations`,
    401,
  ],
  [
    'Chat21 #6 archived conversations',
    'GET',
    (x: HttpCorpusContext) => `/${x.app}/${x.bystanders.b}/conversations/archived`,
    401,
  ],
  [
    'Chat21 #7 archived conversations',
    'GET',
    (x: HttpCorpusContext) => `/${x.app}/${x.bystanders.b}/archived_conversations`,
    401,
  ],
  [
    'Chat21 #8 one conversation',
    'GET',
    (x: HttpCorpusContext) => `/${x.app}/${x.bystanders.b}/conversations/${x.bystanders.a}`,
    401,
  ],
  [
    'Chat21 #9 one archived conversation',
    'GET',
    (x: HttpCorpusContext) => `/${x.app}/${x.bystanders.b}/archived_conversations/${x.bystanders.a}`,
    401,
  ],
  [
    'Chat21 #10 history',
    'GET',
    (x: HttpCorpusContext) => `/${x.app}/${x.bystanders.b}/conversations/${x.bystanders.a}/messages`,
    401,
  ],
  [
    'Chat21 #23 device instance',
    'POST',
    (x: HttpCorpusContext) => `/${x.app}/${x.bystanders.b}/instances/fcm-token-1`,
    401,
  ],
  [
    'conversation list',
    'GET',
    (x: HttpCorpusContext) => `/v1/apps/${x.app}/users/${x.bystanders.b}/conversations`,
    403,
  ],
  [
    'history',
    'GET',
    (x: HttpCorpusContext) =>
      `/v1/apps/${x.app}/users/${x.bystanders.b}/conversations/${x.bystanders.a}/messages`,
    403,
  ],
  [
    'search',
    'GET',
    (x: HttpCorpusContext) => `/v1/apps/${x.app}/users/${x.bystanders.b}/search?q=bystander`,
    403,
  ],
].map(
  ([name, method, path, status]): HttpCase => ({
    name: `IDOR: ${name as string} of bystander b`,
    method: method as HttpCase['method'],
    path: path as HttpCase['path'],
    status: status as number,
    code: 'forbidden',
  }),
);

const groupPath = (x: HttpCorpusContext, rest = '') => `/${x.app}/groups/${x.group}${rest}`;

const groupCases: HttpCase[] = [
  {
    name: 'reads a group it is not in',
    method: 'GET',
    path: (x) => groupPath(x),
    status: 401,
    code: 'forbidden',
  },
  {
    name: 'adds itself to a group it does not own',
    method: 'POST',
    path: (x) => groupPath(x, '/members'),
    body: (x) => ({ member_id: x.me }),
    status: 401,
    code: 'forbidden',
  },
  {
    name: 'replaces the members of a group it does not own',
    method: 'PUT',
    path: (x) => groupPath(x, '/members'),
    body: (x) => ({ members: { [x.me]: 1 } }),
    status: 401,
    code: 'forbidden',
  },
  {
    name: 'removes bystander b from a group it does not own',
    method: 'DELETE',
    path: (x) => groupPath(x, `/members/${x.bystanders.b}`),
    status: 401,
    code: 'forbidden',
  },
  {
    name: 'renames a group it does not own',
    method: 'PUT',
    path: (x) => groupPath(x),
    body: { group_name: 'pwned' },
    status: 401,
    code: 'forbidden',
  },
  {
    name: 'replaces the attributes of a group it does not own',
    method: 'PUT',
    path: (x) => groupPath(x, '/attributes'),
    body: { attributes: { pwned: true } },
    status: 401,
    code: 'forbidden',
  },
  {
    name: "deletes every user's conversation with a group (admin only)",
    method: 'DELETE',
    path: (x) => `/${x.app}/${x.group}/conversations/timelines`,
    status: 401,
    code: 'forbidden',
  },
  {
    name: "deletes a group's messages (admin only)",
    method: 'DELETE',
    path: (x) => `/${x.app}/${x.group}/messages/timelines`,
    status: 401,
    code: 'forbidden',
  },
  {
    name: 'creates a group over an existing group id',
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: (x) => ({ group_name: 'mine', group_members: { [x.me]: 1 }, group_id: x.group }),
    status: 409,
    code: 'group_exists',
  },
  {
    name: "creates a group called 'system'",
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: (x) => ({ group_name: 's', group_members: { [x.me]: 1 }, group_id: 'system' }),
    status: 400,
    code: ['reserved_id', 'invalid_group_id'],
  },
  {
    name: "creates a group whose id is bystander b's user id",
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: (x) => ({
      group_name: 'b',
      group_members: { [x.me]: 1, [x.bystanders.a]: 1 },
      group_id: x.bystanders.b,
    }),
    status: 400,
    code: 'invalid_group_id',
    pending: 'hole 1 (group capture)',
  },
  {
    name: "creates a group with 'system' as a member",
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: (x) => ({ group_name: 's', group_members: { [x.me]: 1, system: 1 } }),
    status: 400,
    code: 'reserved_id',
    pending: 'hole 1 (group capture)',
  },
  {
    name: 'creates a group with a group-form member id',
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: (x) => ({ group_name: 'g', group_members: { [x.me]: 1, [x.group]: 1 } }),
    status: 400,
    code: 'reserved_id',
    pending: 'hole 1 (group capture)',
  },
  {
    name: 'creates a group owned by bystander b',
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: (x) => ({ group_name: 'g', group_members: { [x.me]: 1 }, group_owner: x.bystanders.b }),
    status: 401,
    code: 'forbidden',
  },
  {
    name: 'creates a group with a member id that would break a topic',
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: { group_name: 'g', group_members: { 'a b': 1 } },
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'creates a group with members not an object',
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: { group_name: 'g', group_members: 3 },
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'creates a group with members an array',
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: { group_name: 'g', group_members: ['a'] },
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'creates a group with an empty name',
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: { group_name: '', group_members: {} },
    status: 405,
    code: 'invalid_request',
  },
  {
    name: "creates a group with a '/' in its id",
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: { group_name: 'g', group_members: {}, group_id: 'group-a/b' },
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'creates a group with attributes nested 2,000 objects deep',
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: `{"group_name":"deep","group_members":{},"attributes":${nested(2000, 'object')}}`,
    status: 400,
    code: 'invalid_payload',
    pending: 'hole 2 (poison messages)',
  },
  {
    name: 'creates a group whose name holds a lone surrogate',
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: '{"group_name":"a\\ud800","group_members":{}}',
    status: 400,
    code: 'invalid_payload',
    pending: 'hole 2 (anything the store cannot take)',
  },
  {
    name: 'creates a group with a NUL in its name',
    method: 'POST',
    path: (x) => `/${x.app}/groups`,
    body: { group_name: 'a\u0000', group_members: {} },
    status: 400,
    code: 'invalid_payload',
  },
  {
    name: 'adds a member to a group that does not exist',
    method: 'POST',
    path: (x) => `/${x.app}/groups/group-nothing/members`,
    body: (x) => ({ member_id: x.me }),
    status: 404,
    code: 'group_not_found',
  },
];

const send = (x: HttpCorpusContext, extra: Record<string, unknown> = {}) => ({
  sender_fullname: 'Mallory',
  recipient_id: `sink-http-${x.me}`,
  recipient_fullname: 'Sink',
  text: 'http',
  ...extra,
});
const messagesPath = (x: HttpCorpusContext) => `/${x.app}/messages`;

const messageCases: HttpCase[] = [
  {
    name: 'send: invalid JSON',
    method: 'POST',
    path: messagesPath,
    body: '{"text": ',
    status: 400,
    code: 'invalid_json',
  },
  {
    name: 'send: JSON array',
    method: 'POST',
    path: messagesPath,
    body: '[1,2]',
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'send: JSON number',
    method: 'POST',
    path: messagesPath,
    body: '42',
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'send: no sender_fullname',
    method: 'POST',
    path: messagesPath,
    body: (x) => ({ ...send(x), sender_fullname: undefined }),
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'send: text a number',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { text: 5 }),
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'send: timestamp a string',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { timestamp: 'now' }),
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'send: message_id not a UUID',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { message_id: 'x' }),
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'send: channel_type unknown',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { channel_type: 'all' }),
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'send: as bystander b (sender_id, not admin)',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { sender_id: x.bystanders.b, recipient_id: x.bystanders.a }),
    status: 401,
    code: 'forbidden',
  },
  {
    name: "send: as 'system' (sender_id, not admin)",
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { sender_id: 'system', recipient_id: x.group }),
    status: 401,
    code: 'forbidden',
  },
  {
    name: "send: recipient id with a '.'",
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { recipient_id: 'a.b' }),
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'send: recipient id with a zero-width space',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { recipient_id: `${x.bystanders.b}\u200b` }),
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'send: to a group it is not in',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { recipient_id: x.group }),
    status: 403,
    code: 'not_a_member',
  },
  {
    name: 'send: channel_type group to no group',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { recipient_id: 'nothing', channel_type: 'group' }),
    status: 404,
    code: 'group_not_found',
  },
  {
    name: 'send: to a group-form id that is no group',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { recipient_id: 'group-nothing' }),
    status: 404,
    code: 'group_not_found',
    pending: 'hole 1 (group capture)',
  },
  {
    name: 'send: text/plain',
    method: 'POST',
    path: messagesPath,
    body: 'hello',
    contentType: 'text/plain',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'send: a form',
    method: 'POST',
    path: messagesPath,
    body: 'text=hello',
    contentType: 'application/x-www-form-urlencoded',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'send: multipart',
    method: 'POST',
    path: messagesPath,
    body: '--x\r\n\r\nhello\r\n--x--',
    contentType: 'multipart/form-data; boundary=x',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'send: JSON declared as XML',
    method: 'POST',
    path: messagesPath,
    body: '{"text":"x"}',
    contentType: 'application/xml',
    status: 415,
    code: 'unsupported_media_type',
  },
  {
    name: 'send: larger than the body limit (300 KB)',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { text: 'x'.repeat(300 * 1024) }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'send: larger than the MQTT payload limit (70 KB)',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { text: 'x'.repeat(70 * 1024) }),
    status: 413,
    code: 'payload_too_large',
    pending: 'HTTP send larger than the MQTT payload limit (413)',
  },
  {
    name: 'send: NUL in text',
    method: 'POST',
    path: messagesPath,
    body: (x) => send(x, { text: 'a\u0000b' }),
    status: 400,
    code: 'invalid_payload',
  },
  {
    name: 'send: lone surrogate in text',
    method: 'POST',
    path: messagesPath,
    body: '{"sender_fullname":"M","recipient_id":"sink-http","recipient_fullname":"S","text":"a\\ud800"}',
    status: 400,
    code: 'invalid_payload',
    pending: 'hole 2 (anything the store cannot take)',
  },
  {
    name: 'send: attributes nested 2,000 objects deep',
    method: 'POST',
    path: messagesPath,
    body: `{"sender_fullname":"M","recipient_id":"sink-http","recipient_fullname":"S","text":"deep","attributes":${nested(2000, 'object')}}`,
    status: 400,
    code: 'invalid_payload',
    pending: 'hole 2 (poison messages)',
  },
  {
    name: 'send: metadata nested 5,000 arrays deep',
    method: 'POST',
    path: messagesPath,
    body: `{"sender_fullname":"M","recipient_id":"sink-http","recipient_fullname":"S","text":"deep","metadata":${nested(5000, 'array')}}`,
    status: 400,
    code: 'invalid_payload',
    pending: 'hole 2 (poison messages)',
  },
  {
    name: 'send: __proto__ carrying sender_id of bystander b is data, not a prototype',
    method: 'POST',
    path: messagesPath,
    body: (x) =>
      `{"sender_fullname":"M","recipient_id":"sink-http-${x.me}","recipient_fullname":"S","text":"proto","__proto__":{"sender_id":"${x.bystanders.b}","admin":true}}`,
    status: [200, 405],
    check: () => assert(({} as Record<string, unknown>).admin === undefined, 'Object.prototype was polluted'),
  },
  {
    name: 'Chat21 #10 history: conversation id with a wildcard',
    method: 'GET',
    path: (x) => `/${x.app}/${x.me}/conversations/${enc('a#')}/messages`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'Chat21 #10 history of a group it is not in shows nothing',
    method: 'GET',
    path: (x) => `/${x.app}/${x.me}/conversations/${x.group}/messages`,
    status: 200,
    check: (r) =>
      assert((r.json() as { result: unknown[] }).result.length === 0, 'a non-member read group history'),
  },
  {
    name: "history of bystanders' direct conversation through its own user id shows nothing",
    method: 'GET',
    path: (x) => `/v1/apps/${x.app}/users/${x.me}/conversations/${x.bystanders.a}/messages`,
    status: 200,
    check: (r) =>
      assert((r.json() as { result: unknown[] }).result.length === 0, "another pair's messages were shown"),
  },
];

const historyPath = (x: HttpCorpusContext, query: string) =>
  `/v1/apps/${x.app}/users/${x.me}/conversations/${x.bystanders.a}/messages?${query}`;
const listPath = (x: HttpCorpusContext, query: string) =>
  `/v1/apps/${x.app}/users/${x.me}/conversations?${query}`;
const searchPath = (x: HttpCorpusContext, q: string, extra = '') =>
  `/v1/apps/${x.app}/users/${x.me}/search?q=${enc(q)}${extra}`;

const pagingCases: HttpCase[] = [
  ...[
    'before=0',
    'before=-1',
    'after=-1',
    'after=abc',
    'before=1&after=1',
    'limit=0',
    'limit=100000',
    'limit=1.5',
    'before=1e400',
    'before=99999999999999999999',
    'limit=',
    'limit=-0x10',
  ].map(
    (query): HttpCase => ({
      name: `history ?${query}`,
      method: 'GET',
      path: (x) => historyPath(x, query),
      status: 400,
      code: 'invalid_request',
    }),
  ),
  ...[
    'limit=0',
    'limit=-5',
    'limit=100000',
    'limit=abc',
    'archived=maybe',
    'cursor=nonsense',
    `cursor=${'A'.repeat(2000)}`,
    `cursor=${Buffer.from('[1e400,"x"]').toString('base64url')}`,
    `cursor=${Buffer.from('["1",2]').toString('base64url')}`,
    `cursor=${Buffer.from('{"__proto__":{"x":1}}').toString('base64url')}`,
    `cursor=${Buffer.from('[1,"x\') OR 1=1 --"]').toString('base64url').slice(0, -2)}`,
  ].map(
    (query): HttpCase => ({
      name: `conversation list ?${query.slice(0, 60)}`,
      method: 'GET',
      path: (x) => listPath(x, query),
      status: 400,
      code: 'invalid_request',
    }),
  ),
];

const noHitsOfOthers = (r: HttpResponseView, x: HttpCorpusContext) => {
  const hits = (r.json() as { result: { message: { sender: string; recipient: string } }[] }).result;
  assert(Array.isArray(hits), 'no result array');
  for (const hit of hits) {
    assert(
      hit.message.sender === x.me || hit.message.recipient === x.me,
      `a hit of someone else: ${JSON.stringify(hit)}`,
    );
  }
};

const searchCases: HttpCase[] = [
  {
    name: "search: 400 '-' characters",
    method: 'GET',
    path: (x) => searchPath(x, '-'.repeat(400)),
    status: 400,
    code: 'invalid_request',
    pending: "search of 400 '-' (500 today)",
  },
  {
    name: "search: a word followed by 400 '-'",
    method: 'GET',
    path: (x) => searchPath(x, `x${'-'.repeat(400)}`),
    status: 200,
    check: noHitsOfOthers,
    pending: "search of 400 '-' (500 today)",
  },
  {
    name: "search: 200 times ' -x'",
    method: 'GET',
    path: (x) => searchPath(x, ' -x'.repeat(150)),
    status: 200,
    check: noHitsOfOthers,
  },
  {
    name: 'search: only operators',
    method: 'GET',
    path: (x) => searchPath(x, '- " | & ! ( ) : * <-> ~'),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: "search: only the operator 'or'",
    method: 'GET',
    path: (x) => searchPath(x, 'or OR or'),
    status: 200,
    check: noHitsOfOthers,
  },
  {
    name: 'search: unbalanced quotes',
    method: 'GET',
    path: (x) => searchPath(x, '"a "b "c'),
    status: 200,
    check: noHitsOfOthers,
  },
  {
    name: 'search: SQL comment and DROP',
    method: 'GET',
    path: (x) => searchPath(x, "'; DROP TABLE messages; --"),
    status: 200,
    check: noHitsOfOthers,
  },
  {
    name: "search: ' OR 1=1 --",
    method: 'GET',
    path: (x) => searchPath(x, "bystander' OR 1=1 --"),
    status: 200,
    check: noHitsOfOthers,
  },
  {
    name: 'search: UNION SELECT',
    method: 'GET',
    path: (x) => searchPath(x, "%' UNION SELECT body FROM messages --"),
    status: 200,
    check: noHitsOfOthers,
  },
  {
    name: 'search: tsquery syntax',
    method: 'GET',
    path: (x) => searchPath(x, 'bystander:* & !x | (a <-> b)'),
    status: 200,
    check: noHitsOfOthers,
  },
  {
    name: "search: the bystanders' word finds nothing of theirs",
    method: 'GET',
    path: (x) => searchPath(x, 'bystander'),
    status: 200,
    check: noHitsOfOthers,
  },
  {
    name: "search: in the bystanders' group",
    method: 'GET',
    path: (x) => searchPath(x, 'bystander', `&conversation=${x.group}`),
    status: 200,
    check: noHitsOfOthers,
  },
  {
    name: 'search: in a conversation with bystander a',
    method: 'GET',
    path: (x) => searchPath(x, 'bystander', `&conversation=${x.bystanders.a}`),
    status: 200,
    check: noHitsOfOthers,
  },
  {
    name: 'search: 501 characters',
    method: 'GET',
    path: (x) => searchPath(x, 'a'.repeat(501)),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'search: empty',
    method: 'GET',
    path: (x) => searchPath(x, ''),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'search: only spaces',
    method: 'GET',
    path: (x) => searchPath(x, '     '),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'search: no q',
    method: 'GET',
    path: (x) => `/v1/apps/${x.app}/users/${x.me}/search`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'search: q twice',
    method: 'GET',
    path: (x) => `${searchPath(x, 'a')}&q=b`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'search: NUL',
    method: 'GET',
    path: (x) => searchPath(x, 'a\u0000b'),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'search: lone surrogate (bad UTF-8 escape)',
    method: 'GET',
    path: (x) => `/v1/apps/${x.app}/users/${x.me}/search?q=a%ED%A0%80`,
    status: [200, 400],
    check: noHitsOfOthers,
  },
  {
    name: 'search: bad conversation id',
    method: 'GET',
    path: (x) => searchPath(x, 'a', '&conversation=a%2Fb'),
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'search: limit 100000',
    method: 'GET',
    path: (x) => searchPath(x, 'a', '&limit=100000'),
    status: 400,
    code: 'invalid_request',
  },
];

const otherRouteCases: HttpCase[] = [
  {
    name: 'presence: no users',
    method: 'GET',
    path: (x) => `/v1/apps/${x.app}/presence`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'presence: users empty',
    method: 'GET',
    path: (x) => `/v1/apps/${x.app}/presence?users=`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'presence: an empty id in the list',
    method: 'GET',
    path: (x) => `/v1/apps/${x.app}/presence?users=a,,b`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'presence: 501 users',
    method: 'GET',
    path: (x) =>
      `/v1/apps/${x.app}/presence?users=${Array.from({ length: 501 }, (_, i) => `u${i}`).join(',')}`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'presence: an id with a wildcard',
    method: 'GET',
    path: (x) => `/v1/apps/${x.app}/presence?users=${enc('a,#')}`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'presence: of another app',
    method: 'GET',
    path: () => `/v1/apps/other-app/presence?users=a`,
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'tokens: issued by a user (admin only)',
    method: 'POST',
    path: (x) => `/v1/apps/${x.app}/tokens`,
    body: (x) => ({ user_id: x.bystanders.b }),
    status: 403,
    code: 'forbidden',
  },
  {
    name: "tokens: for 'system'",
    method: 'POST',
    path: (x) => `/v1/apps/${x.app}/tokens`,
    auth: 'admin',
    body: { user_id: 'system' },
    status: 400,
    code: 'reserved_id',
  },
  {
    name: 'tokens: for a group-form user id',
    method: 'POST',
    path: (x) => `/v1/apps/${x.app}/tokens`,
    auth: 'admin',
    body: { user_id: 'group-evil' },
    status: 400,
    code: 'reserved_id',
    pending: 'hole 1 (group capture)',
  },
  {
    name: 'tokens: for another app (admin of this app)',
    method: 'POST',
    path: () => `/v1/apps/other-app/tokens`,
    auth: 'admin',
    body: { user_id: 'x' },
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'tokens: ttl over the maximum',
    method: 'POST',
    path: (x) => `/v1/apps/${x.app}/tokens`,
    auth: 'admin',
    body: { user_id: 'x', ttl_seconds: 10 ** 9 },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'tokens: ttl 1 second',
    method: 'POST',
    path: (x) => `/v1/apps/${x.app}/tokens`,
    auth: 'admin',
    body: { user_id: 'x', ttl_seconds: 1 },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'tokens: role root',
    method: 'POST',
    path: (x) => `/v1/apps/${x.app}/tokens`,
    auth: 'admin',
    body: { user_id: 'x', role: 'root' },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'dev login is not served outside dev mode',
    method: 'POST',
    path: (x) => `/v1/apps/${x.app}/dev/login`,
    auth: 'none',
    body: { user_id: 'x' },
    status: [401, 404],
    code: ['unauthorized', 'not_found'],
  },
  {
    name: 'instances: id with a space',
    method: 'POST',
    path: (x) => `/${x.app}/${x.me}/instances/a%20b`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'instances: device_model of 300 characters',
    method: 'POST',
    path: (x) => `/${x.app}/${x.me}/instances/fcm-1`,
    body: { device_model: 'x'.repeat(300) },
    status: 405,
    code: 'invalid_request',
  },
  {
    name: 'getInfo of another app',
    method: 'GET',
    path: () => `/other-app/getInfo`,
    status: 401,
    code: 'forbidden',
  },
  {
    name: "a token of another app on this app's conversations",
    method: 'GET',
    path: (x) => `/${x.app}/${x.me}/conversations`,
    auth: 'otherApp',
    status: 401,
    code: 'forbidden',
  },
  {
    name: "the reserved app id 'observer'",
    method: 'GET',
    path: (x) => `/observer/${x.me}/conversations`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'archive a conversation of bystander b (body user_id)',
    method: 'DELETE',
    path: (x) => `/${x.app}/conversations/${x.bystanders.a}`,
    body: (x) => ({ user_id: x.bystanders.b }),
    status: 401,
    code: 'forbidden',
  },
  {
    name: 'archive: recipient id with a wildcard',
    method: 'DELETE',
    path: (x) => `/${x.app}/conversations/${enc('a+')}`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'path: a lone surrogate (bad UTF-8 escape) as user id',
    method: 'GET',
    path: (x) => `/${x.app}/%ED%A0%80/conversations`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'path: a malformed escape',
    method: 'GET',
    path: (x) => `/${x.app}/%E0%A4%A/conversations`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'path: NUL as user id',
    method: 'GET',
    path: (x) => `/${x.app}/%00/conversations`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'path: an encoded / inside the user id',
    method: 'GET',
    path: (x) => `/${x.app}/${x.me}%2F..%2F${x.bystanders.b}/conversations`,
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'path: .. segments',
    method: 'GET',
    path: (x) => `/${x.app}/${x.me}/../${x.bystanders.b}/conversations`,
    status: [400, 401, 404],
    code: undefined,
  },
  {
    name: 'path: a 5,000-character user id',
    method: 'GET',
    path: (x) => `/${x.app}/${'u'.repeat(5000)}/conversations`,
    status: [400, 404, 414],
    code: undefined,
  },
  {
    name: 'unknown route',
    method: 'GET',
    path: () => '/nothing/here/at/all/really',
    status: 404,
    code: 'not_found',
  },
];

// ─── Generated ───────────────────────────────────────────────────────────────────────────────

/** Bad ids in every kind of path parameter: always 400 invalid_request, whatever the route. */
export function generatedPathCases(count: number): HttpCase[] {
  const id = fc.oneof(
    badIdArbitrary,
    fc.constantFrom('a/b', 'a.b', 'a+b', 'a#b', 'a*b', '.', '..', 'x'.repeat(129)),
  );
  const routes: [string, HttpCase['method'], (x: HttpCorpusContext, id: string) => string][] = [
    ['Chat21 conversations user', 'GET', (x, v) => `/${x.app}/${v}/conversations`],
    ['Chat21 conversation', 'GET', (x, v) => `/${x.app}/${x.me}/conversations/${v}`],
    ['Chat21 history', 'GET', (x, v) => `/${x.app}/${x.me}/conversations/${v}/messages`],
    ['group', 'GET', (x, v) => `/${x.app}/groups/${v}`],
    ['group member', 'DELETE', (x, v) => `/${x.app}/groups/${x.group}/members/${v}`],
    ['history', 'GET', (x, v) => `/v1/apps/${x.app}/users/${x.me}/conversations/${v}/messages`],
    ['conversation list user', 'GET', (x, v) => `/v1/apps/${x.app}/users/${v}/conversations`],
    ['app id', 'GET', (_x, v) => `/v1/apps/${v}/presence?users=a`],
  ];
  const samples = fc.sample(fc.tuple(fc.integer({ min: 0, max: routes.length - 1 }), id), {
    seed: CORPUS_SEED + 1,
    numRuns: count,
  });
  return samples.map(([route, value]): HttpCase => {
    const [name, method, path] = routes[route]!;
    return {
      name: `generated ${name} id ${JSON.stringify(value)}`,
      method,
      path: (x) => path(x, enc(value)),
      // '.' and '..' are path segments before they are ids: the URL resolves elsewhere (404).
      status: value === '.' || value === '..' ? [400, 404] : 400,
      code: value === '.' || value === '..' ? ['invalid_request', 'not_found'] : 'invalid_request',
    };
  });
}

/** Limits out of range, not whole numbers, not numbers: 400 invalid_request on every paged route. */
export function generatedLimitCases(count: number): HttpCase[] {
  const limit = fc.oneof(
    fc.integer({ min: -1_000_000, max: 0 }).map(String),
    fc.integer({ min: 201, max: 2_000_000_000 }).map(String),
    fc
      .double({ min: 0.01, max: 100, noNaN: true, noDefaultInfinity: true })
      .filter((d) => !Number.isInteger(d))
      .map(String),
    fc.string({ unit: fc.constantFrom(...'abcxyz!$()[]'.split('')), minLength: 1, maxLength: 10 }),
  );
  const route = fc.constantFrom<[string, (x: HttpCorpusContext, q: string) => string]>(
    ['history', historyPath],
    ['conversation list', listPath],
    ['search', (x, q) => searchPath(x, 'a', `&${q}`)],
  );
  return fc.sample(fc.tuple(route, limit), { seed: CORPUS_SEED + 2, numRuns: count }).map(
    ([[name, path], value]): HttpCase => ({
      name: `generated ${name} limit=${JSON.stringify(value)}`,
      method: 'GET',
      path: (x) => path(x, `limit=${enc(value)}`),
      status: 400,
      code: 'invalid_request',
    }),
  );
}

const OPERATORS = ['-', '"', '|', '&', '!', '(', ')', ':', '*', ' ', '<', '>', "'", '\\', '~', '^', '%', ';'];

/** Search text built from operators, with or without words: 400 without a letter or digit, else 200 and only the caller's hits. */
export function generatedSearchCases(count: number): HttpCase[] {
  const operators = fc.string({ unit: fc.constantFrom(...OPERATORS), minLength: 1, maxLength: 400 });
  const word = fc.constantFrom('bystander', 'or', 'and', 'x', 'select', '1');
  const query = fc.oneof(
    operators,
    fc.tuple(operators, word, operators).map(([a, w, b]) => `${a}${w}${b}`.slice(0, 500)),
  );
  return fc.sample(query, { seed: CORPUS_SEED + 3, numRuns: count }).map((q): HttpCase => {
    const meaningful = /[\p{L}\p{N}]/u.test(q) && q.trim().length > 0;
    return {
      name: `generated search q=${JSON.stringify(q.length > 40 ? `${q.slice(0, 40)}…(${q.length})` : q)}`,
      method: 'GET',
      path: (x) => searchPath(x, q),
      ...(meaningful ? { status: 200, check: noHitsOfOthers } : { status: 400, code: 'invalid_request' }),
    };
  });
}

/** Random strings as paging cursors: never a cursor this API returned. */
export function generatedCursorCases(count: number): HttpCase[] {
  const cursor = fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')),
    minLength: 1,
    maxLength: 200,
  });
  return fc.sample(cursor, { seed: CORPUS_SEED + 4, numRuns: count }).map(
    (value): HttpCase => ({
      name: `generated cursor ${value.slice(0, 30)}`,
      method: 'GET',
      path: (x) => listPath(x, `cursor=${value}`),
      status: 400,
      code: 'invalid_request',
    }),
  );
}

export const HTTP_CASES: readonly HttpCase[] = [
  ...tokenCases,
  ...idorCases,
  ...groupCases,
  ...messageCases,
  ...pagingCases,
  ...searchCases,
  ...otherRouteCases,
];
