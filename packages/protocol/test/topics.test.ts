import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatTopic,
  INBOUND_KINDS,
  inboxPattern,
  MAX_TOPIC_BYTES,
  parseTopic,
  TOPIC_TEMPLATES,
  type Topic,
  type TopicForm,
  type TopicKind,
  topicPattern,
} from '../src/topics.js';

// The expected grammar, written out independently of src/topics.ts (chat21-protocol.md §2 plus
// Mercurio's additions): one concrete MQTT topic per kind.
const EXAMPLES: [string, Topic][] = [
  [
    'apps/tilechat/outgoing/users/U1/messages/U2/outgoing',
    { kind: 'outgoing', app: 'tilechat', user: 'U1', recipient: 'U2' },
  ],
  [
    'apps/tilechat/users/U1/messages/U2/m1/update',
    { kind: 'messageUpdate', app: 'tilechat', user: 'U1', conversWith: 'U2', messageId: 'm1' },
  ],
  [
    'apps/tilechat/users/U1/messages/U2/m1/edit',
    { kind: 'messageEdit', app: 'tilechat', user: 'U1', conversWith: 'U2', messageId: 'm1' },
  ],
  [
    'apps/tilechat/users/U1/messages/U2/m1/delete',
    { kind: 'messageDelete', app: 'tilechat', user: 'U1', conversWith: 'U2', messageId: 'm1' },
  ],
  [
    'apps/tilechat/users/U1/messages/group-g1/m1/react',
    { kind: 'messageReact', app: 'tilechat', user: 'U1', conversWith: 'group-g1', messageId: 'm1' },
  ],
  [
    'apps/tilechat/users/U1/conversations/U2/update',
    { kind: 'conversationUpdate', app: 'tilechat', user: 'U1', conversWith: 'U2' },
  ],
  [
    'apps/tilechat/users/U1/conversations/U2/archive',
    { kind: 'archive', app: 'tilechat', user: 'U1', conversWith: 'U2' },
  ],
  [
    'apps/tilechat/users/U1/conversations/U2/unarchive',
    { kind: 'unarchive', app: 'tilechat', user: 'U1', conversWith: 'U2' },
  ],
  ['apps/tilechat/users/U1/presence/c-1', { kind: 'presence', app: 'tilechat', user: 'U1', clientId: 'c-1' }],
  ['apps/tilechat/users/U1/typing/U2', { kind: 'typing', app: 'tilechat', user: 'U1', conversWith: 'U2' }],
  ['apps/observer/tilechat/groups/update', { kind: 'groupsUpdate', app: 'tilechat' }],
  [
    'apps/observer/tilechat/users/U1/messages/group-1/delivered',
    { kind: 'historyDelivery', app: 'tilechat', user: 'U1', conversWith: 'group-1' },
  ],
  [
    'apps/tilechat/users/U1/messages/U2/clientadded',
    { kind: 'messageAdded', app: 'tilechat', user: 'U1', conversWith: 'U2' },
  ],
  [
    'apps/tilechat/users/U1/messages/U2/m1/clientupdated',
    { kind: 'messageUpdated', app: 'tilechat', user: 'U1', conversWith: 'U2', messageId: 'm1' },
  ],
  [
    'apps/tilechat/users/U1/conversations/U2/clientadded',
    { kind: 'conversationAdded', app: 'tilechat', user: 'U1', conversWith: 'U2' },
  ],
  [
    'apps/tilechat/users/U1/conversations/U2/clientupdated',
    { kind: 'conversationUpdated', app: 'tilechat', user: 'U1', conversWith: 'U2' },
  ],
  [
    'apps/tilechat/users/U1/conversations/U2/clientdeleted',
    { kind: 'conversationDeleted', app: 'tilechat', user: 'U1', conversWith: 'U2' },
  ],
  [
    'apps/tilechat/users/U1/archived_conversations/U2/clientadded',
    { kind: 'archivedConversationAdded', app: 'tilechat', user: 'U1', conversWith: 'U2' },
  ],
  [
    'apps/tilechat/users/U1/archived_conversations/U2/clientdeleted',
    { kind: 'archivedConversationDeleted', app: 'tilechat', user: 'U1', conversWith: 'U2' },
  ],
  [
    'apps/tilechat/users/U1/groups/group-1/clientupdated',
    { kind: 'groupUpdated', app: 'tilechat', user: 'U1', groupId: 'group-1' },
  ],
  [
    'apps/tilechat/users/U1/presence/U2/clientupdated',
    { kind: 'presenceChanged', app: 'tilechat', user: 'U1', peer: 'U2' },
  ],
  [
    'apps/tilechat/users/U1/typing/U2/clientupdated',
    { kind: 'typingChanged', app: 'tilechat', user: 'U1', conversWith: 'U2' },
  ],
  ['apps/tilechat/users/U1/errors/clientadded', { kind: 'error', app: 'tilechat', user: 'U1' }],
];

// The fields of each kind, again written out independently so round trips prove the table complete.
const FIELDS: Record<TopicKind, readonly string[]> = {
  outgoing: ['app', 'user', 'recipient'],
  messageUpdate: ['app', 'user', 'conversWith', 'messageId'],
  messageEdit: ['app', 'user', 'conversWith', 'messageId'],
  messageDelete: ['app', 'user', 'conversWith', 'messageId'],
  messageReact: ['app', 'user', 'conversWith', 'messageId'],
  conversationUpdate: ['app', 'user', 'conversWith'],
  archive: ['app', 'user', 'conversWith'],
  unarchive: ['app', 'user', 'conversWith'],
  presence: ['app', 'user', 'clientId'],
  typing: ['app', 'user', 'conversWith'],
  groupsUpdate: ['app'],
  historyDelivery: ['app', 'user', 'conversWith'],
  messageAdded: ['app', 'user', 'conversWith'],
  messageUpdated: ['app', 'user', 'conversWith', 'messageId'],
  conversationAdded: ['app', 'user', 'conversWith'],
  conversationUpdated: ['app', 'user', 'conversWith'],
  conversationDeleted: ['app', 'user', 'conversWith'],
  archivedConversationAdded: ['app', 'user', 'conversWith'],
  archivedConversationDeleted: ['app', 'user', 'conversWith'],
  groupUpdated: ['app', 'user', 'groupId'],
  presenceChanged: ['app', 'user', 'peer'],
  typingChanged: ['app', 'user', 'conversWith'],
  error: ['app', 'user'],
};
const KINDS = Object.keys(FIELDS) as TopicKind[];
const LABELS: Record<string, string> = {
  app: 'app id',
  user: 'user id',
  recipient: 'recipient id',
  conversWith: 'conversWith id',
  messageId: 'message id',
  clientId: 'client id',
  groupId: 'group id',
  peer: 'peer id',
};
const KEYWORDS: string[] = [
  ...new Set<string>(
    Object.values(TOPIC_TEMPLATES)
      .flat()
      .filter((level) => !level.startsWith('{')),
  ),
];
const FORMS: TopicForm[] = ['mqtt', 'amqp'];
const SEP: Record<TopicForm, string> = { mqtt: '/', amqp: '.' };

const idChar = fc.oneof(
  fc.constantFrom('a', 'Z', '0', '9', '-', '_', '@', ':', '|', '%', 'é', 'ж', '中', 'ا', '🙂'),
  fc
    .integer({ min: 0x21, max: 0x2ffff })
    .map((cp) => String.fromCodePoint(cp))
    .filter((char) => !/[\s\p{Cc}\p{Cf}\p{Cs}/.+#*]/u.test(char)),
);
const plainId = fc.string({ unit: idChar, minLength: 1, maxLength: 8 });
// Ids equal to keywords are legal and must never make a topic ambiguous.
const id = fc.oneof(plainId, fc.constantFrom(...KEYWORDS));
const appId = id.filter((app) => app !== 'observer');
const form = fc.constantFrom(...FORMS);

function topicOf(kind: TopicKind, ids: fc.Arbitrary<string> = id): fc.Arbitrary<Topic> {
  const app = ids.filter((value) => value !== 'observer');
  const fields = Object.fromEntries(FIELDS[kind].map((field) => [field, field === 'app' ? app : ids]));
  return fc.record(fields).map((values) => ({ kind, ...values }) as Topic);
}
const anyTopic = fc.constantFrom(...KINDS).chain((kind) => topicOf(kind));
const field = (topic: Topic) => fc.constantFrom(...FIELDS[topic.kind]);

/** Topic-pattern matching as brokers do it: one-level wildcard, and '#' for any number of levels. */
function patternMatches(pattern: string, topic: string, topicForm: TopicForm): boolean {
  const one = topicForm === 'mqtt' ? '+' : '*';
  const match = (p: string[], t: string[]): boolean => {
    if (p.length === 0) return t.length === 0;
    const [head, ...rest] = p;
    if (head === '#') return [...Array(t.length + 1).keys()].some((skip) => match(rest, t.slice(skip)));
    return t.length > 0 && (head === one || head === t[0]) && match(rest, t.slice(1));
  };
  return match(pattern.split(SEP[topicForm]), topic.split(SEP[topicForm]));
}

/** Builds a topic string from ids that formatTopic would refuse, by way of the template. */
function rawTopic(topic: Topic, topicForm: TopicForm): string {
  const values = topic as unknown as Record<string, string>;
  const template: readonly string[] = TOPIC_TEMPLATES[topic.kind];
  return template
    .map((level) => (level.startsWith('{') ? values[level.slice(1, -1)] : level))
    .join(SEP[topicForm]);
}

function reasonOf(topic: string, topicForm: TopicForm): string {
  const result = parseTopic(topic, topicForm);
  if (result.ok) throw new Error(`expected ${JSON.stringify(topic)} to be refused`);
  return result.reason;
}

describe('the topic grammar', () => {
  it.each(EXAMPLES)('%s', (mqtt, topic) => {
    const amqp = mqtt.replaceAll('/', '.');
    expect(parseTopic(mqtt, 'mqtt')).toEqual({ ok: true, topic });
    expect(parseTopic(amqp, 'amqp')).toEqual({ ok: true, topic });
    expect(formatTopic(topic, 'mqtt')).toBe(mqtt);
    expect(formatTopic(topic, 'amqp')).toBe(amqp);
  });

  it('covers every kind', () => {
    expect(EXAMPLES.map(([, topic]) => topic.kind).sort()).toEqual([...KINDS].sort());
    expect(Object.keys(TOPIC_TEMPLATES).sort()).toEqual([...KINDS].sort());
  });

  it('lists the inbound kinds', () => {
    expect([...INBOUND_KINDS].sort()).toEqual(
      [
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
      ].sort(),
    );
  });

  it('has no two templates that one string could match', () => {
    // Ids may equal keywords, so an id level is compatible with anything; two templates are only
    // told apart by a position where both have a keyword and the keywords differ.
    const templates = Object.entries(TOPIC_TEMPLATES);
    for (const [i, [kindA, a]] of templates.entries()) {
      for (const [kindB, b] of templates.slice(i + 1)) {
        if (a.length !== b.length) continue;
        const separated = a.some((level, n) => {
          const other = b[n]!;
          return !level.startsWith('{') && !other.startsWith('{') && level !== other;
        });
        expect(separated, `${kindA} and ${kindB} overlap`).toBe(true);
      }
    }
  });

  it('parses every formatted topic back to the same topic, in both forms', () => {
    fc.assert(
      fc.property(anyTopic, form, (topic, topicForm) => {
        const formatted = formatTopic(topic, topicForm);
        expect(parseTopic(formatted, topicForm)).toEqual({ ok: true, topic });
      }),
      { numRuns: 2000 },
    );
  });

  it('formats every parsed topic back to the same string (parse is exact)', () => {
    // Strings stitched from keywords, ids and junk: whatever parses must be the topic's one spelling.
    const word = fc.oneof(
      id,
      fc.constantFrom(...KEYWORDS),
      fc.constantFrom('', '+', '#', '*', ' ', 'a.b', 'a/b'),
    );
    const candidate = fc.tuple(fc.array(word, { minLength: 1, maxLength: 9 }), form);
    fc.assert(
      fc.property(candidate, ([words, topicForm]) => {
        const text = words.join(SEP[topicForm]);
        const result = parseTopic(text, topicForm);
        if (result.ok) expect(formatTopic(result.topic, topicForm)).toBe(text);
      }),
      { numRuns: 5000 },
    );
  });

  it('converts between MQTT and AMQP by parsing one form and formatting the other', () => {
    fc.assert(
      fc.property(anyTopic, (topic) => {
        const mqtt = formatTopic(topic, 'mqtt');
        const amqp = formatTopic(topic, 'amqp');
        expect(amqp).toBe(mqtt.replaceAll('/', '.'));
        const fromMqtt = parseTopic(mqtt, 'mqtt');
        const fromAmqp = parseTopic(amqp, 'amqp');
        expect(fromMqtt.ok && formatTopic(fromMqtt.topic, 'amqp')).toBe(amqp);
        expect(fromAmqp.ok && formatTopic(fromAmqp.topic, 'mqtt')).toBe(mqtt);
      }),
    );
  });
});

describe('malformed topics', () => {
  it.each<[string, TopicForm, string]>([
    ['', 'mqtt', 'topic must not be empty'],
    ['/apps/tilechat/users/U1/errors/clientadded', 'mqtt', "topic must not start with '/'"],
    ['apps/tilechat/users/U1/errors/clientadded/', 'mqtt', "topic must not end with '/'"],
    ['apps.tilechat.users.U1.errors.clientadded.', 'amqp', "topic must not end with '.'"],
    ['apps//users/U1/errors/clientadded', 'mqtt', 'app id must not be empty'],
    ['apps/tilechat//users/U1/errors/clientadded', 'mqtt', "topic must not contain an empty level ('//')"],
    ['apps/tilechat/users/U1/#', 'mqtt', "topic must not contain the wildcard '#'"],
    ['apps.tilechat.users.U1.#', 'amqp', "topic must not contain the wildcard '#'"],
    ['apps/+/users/U1/errors/clientadded', 'mqtt', "app id must not contain '+'"],
    ['apps.*.users.U1.errors.clientadded', 'amqp', "app id must not contain '*'"],
    ['apps/tilechat/outgoing/users/U1/messages/#/outgoing', 'mqtt', "recipient id must not contain '#'"],
    ['+/tilechat/users/U1/errors/clientadded', 'mqtt', "topic must not contain the wildcard '+'"],
    ['apps/tile.chat/users/U1/errors/clientadded', 'mqtt', "app id must not contain '.'"],
    ['apps.tile/chat.users.U1.errors.clientadded', 'amqp', "app id must not contain '/'"],
    ['apps/tilechat/users.x/U1/errors/clientadded', 'mqtt', "an MQTT topic level must not contain '.'"],
    ['apps.tilechat.users/x.U1.errors.clientadded', 'amqp', "an AMQP routing-key word must not contain '/'"],
    ['apps/tilechat/users/U 1/errors/clientadded', 'mqtt', 'user id must not contain whitespace (U+0020)'],
    [
      'apps/tilechat/users/U1/presence/c\u0000',
      'mqtt',
      'client id must not contain a control character (U+0000)',
    ],
    ['apps/observer/users/U1/messages/U2/clientadded', 'mqtt', "app id 'observer' is reserved for services"],
    ['apps/tilechat/users/U1/errors/clientadded', 'amqp', "an AMQP routing-key word must not contain '/'"],
    [
      'apps/tilechat/users/U1/conversations/U2',
      'mqtt',
      'unknown topic: no known 6-level topic has these keywords',
    ],
    [
      'apps/tilechat/users/U1/conversation/U2/update',
      'mqtt',
      'unknown topic: no known 7-level topic has these keywords',
    ],
    ['apps/tilechat/users/U1', 'mqtt', 'unknown topic: no known topic has 4 levels'],
    ['apps', 'amqp', 'unknown topic: no known topic has 1 level'],
  ])('%j (%s): %s', (topic, topicForm, reason) => {
    expect(parseTopic(topic, topicForm)).toMatchObject({ ok: false, reason });
  });

  it('refuses non-strings', () => {
    expect(parseTopic(42 as unknown as string, 'mqtt')).toEqual({
      ok: false,
      reason: 'topic must be a string',
      code: 'invalid_topic',
    });
  });

  it('refuses an id containing a separator, wildcard, whitespace or control character, naming the id', () => {
    const bad = fc.constantFrom(
      '/',
      '.',
      '+',
      '#',
      '*',
      ' ',
      '\t',
      '\n',
      '\u00a0',
      '\u0000',
      '\u007f',
      '\u200b',
    );
    const corruption = anyTopic.chain((topic) =>
      fc.tuple(fc.constant(topic), field(topic), bad, fc.nat(), form),
    );
    fc.assert(
      fc.property(corruption, ([topic, name, char, at, topicForm]) => {
        const values = topic as unknown as Record<string, string>;
        const chars = [...values[name]!];
        chars.splice(at % (chars.length + 1), 0, char);
        const text = rawTopic({ ...topic, [name]: chars.join('') } as Topic, topicForm);
        const result = parseTopic(text, topicForm);
        if (char === SEP[topicForm]) {
          // The form's own separator adds a level: the string may spell another, genuine topic.
          if (result.ok) expect(formatTopic(result.topic, topicForm)).toBe(text);
          return;
        }
        expect(result.ok).toBe(false);
        if (result.ok) return;
        // the other separator or a wildcard breaks the level structure; anything else is a bad id
        const structural = char === '.' || char === '/' || char === '+' || char === '#' || char === '*';
        if (!structural) expect(result.code).toBe('invalid_id');
        expect(result.reason).toMatch(new RegExp(`^${LABELS[name]} must not contain `));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses empty levels, leading and trailing separators', () => {
    fc.assert(
      fc.property(anyTopic, form, fc.nat(), (topic, topicForm, at) => {
        const sep = SEP[topicForm];
        const text = formatTopic(topic, topicForm);
        expect(reasonOf(sep + text, topicForm)).toBe(`topic must not start with '${sep}'`);
        expect(reasonOf(text + sep, topicForm)).toBe(`topic must not end with '${sep}'`);
        const levels = text.split(sep);
        levels.splice(1 + (at % (levels.length - 1)), 0, '');
        // The empty level lands either where no template fits or in an id position.
        expect(reasonOf(levels.join(sep), topicForm)).toMatch(/empty/);
      }),
    );
  });

  it('refuses a changed keyword', () => {
    const notKeyword = fc.oneof(
      plainId.filter((word) => !KEYWORDS.includes(word)),
      fc.constantFrom(...KEYWORDS).map((keyword) => keyword.toUpperCase()),
      fc.constantFrom(...KEYWORDS).map((keyword) => keyword.slice(0, -1)),
    );
    fc.assert(
      fc.property(anyTopic, form, fc.nat(), notKeyword, (topic, topicForm, pick, word) => {
        const template: readonly string[] = TOPIC_TEMPLATES[topic.kind];
        const keywordPositions = [...template.keys()].filter((n) => !template[n]!.startsWith('{'));
        const levels = formatTopic(topic, topicForm).split(SEP[topicForm]);
        levels[keywordPositions[pick % keywordPositions.length]!] = word;
        expect(reasonOf(levels.join(SEP[topicForm]), topicForm)).toMatch(/^unknown topic: /);
      }),
      { numRuns: 2000 },
    );
  });

  it('never accepts a dropped or added level as anything but a genuine topic', () => {
    fc.assert(
      fc.property(anyTopic, form, fc.nat(), fc.boolean(), id, (topic, topicForm, at, drop, extra) => {
        const levels = formatTopic(topic, topicForm).split(SEP[topicForm]);
        if (drop) levels.splice(at % levels.length, 1);
        else levels.splice(at % (levels.length + 1), 0, extra);
        const text = levels.join(SEP[topicForm]);
        const result = parseTopic(text, topicForm);
        // Ids may equal keywords (a client id 'clientupdated'), so a shifted string can be a real
        // topic of another kind; then it must be exactly that topic's spelling.
        if (result.ok) {
          expect(formatTopic(result.topic, topicForm)).toBe(text);
          expect(result.topic).not.toEqual(topic);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses dropped and added levels when no id looks like a keyword', () => {
    const plain = fc.constantFrom(...KINDS).chain((kind) => topicOf(kind, plainId));
    fc.assert(
      fc.property(plain, form, fc.nat(), fc.boolean(), plainId, (topic, topicForm, at, drop, extra) => {
        const levels = formatTopic(topic, topicForm).split(SEP[topicForm]);
        if (drop) levels.splice(at % levels.length, 1);
        else levels.splice(at % (levels.length + 1), 0, extra);
        const result = parseTopic(levels.join(SEP[topicForm]), topicForm);
        // The one way through: presence/typing events are their inbound topic plus 'clientupdated',
        // so dropping either of the last two levels leaves a presence/typing topic.
        if (result.ok) {
          expect(drop).toBe(true);
          const expected = { presenceChanged: 'presence', typingChanged: 'typing' } as Record<string, string>;
          expect(result.topic.kind).toBe(expected[topic.kind]);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it(`refuses topics longer than ${MAX_TOPIC_BYTES} bytes, and formatTopic will not produce them`, () => {
    const wide = fc.string({ unit: fc.constantFrom('中', '🙂', 'é'), minLength: 100, maxLength: 128 });
    const long = fc.constantFrom(...KINDS).chain((kind) => topicOf(kind, wide));
    fc.assert(
      fc.property(long, form, (topic, topicForm) => {
        expect(reasonOf(rawTopic(topic, topicForm), topicForm)).toMatch(
          /^topic is \d+ bytes long; the limit is 255 bytes/,
        );
        expect(() => formatTopic(topic, topicForm)).toThrow(TypeError);
      }),
      { numRuns: 200 },
    );
  });

  it('accepts exactly 255 bytes', () => {
    // 'apps/' + app + '/outgoing/users/' + user + '/messages/' + recipient + '/outgoing' = 40 + ids
    const topic = (app: number): Topic => ({
      kind: 'outgoing',
      app: 'a'.repeat(app),
      user: 'b'.repeat(64),
      recipient: 'c'.repeat(64),
    });
    expect(formatTopic(topic(87), 'amqp')).toHaveLength(255);
    expect(parseTopic(rawTopic(topic(87), 'amqp'), 'amqp').ok).toBe(true);
    expect(reasonOf(rawTopic(topic(88), 'mqtt'), 'mqtt')).toBe(
      "topic is 256 bytes long; the limit is 255 bytes (RabbitMQ's routing-key limit)",
    );
  });
});

describe('formatTopic', () => {
  it('throws TypeError naming the invalid id', () => {
    const invalid = fc.constantFrom(
      '',
      'a/b',
      'a.b',
      '+',
      '#',
      '*',
      'a b',
      '\u0000',
      '\u200b',
      'x'.repeat(129),
    );
    fc.assert(
      fc.property(
        anyTopic.chain((topic) => fc.tuple(fc.constant(topic), field(topic), invalid, form)),
        ([topic, name, value, topicForm]) => {
          const broken = { ...topic, [name]: value } as Topic;
          expect(() => formatTopic(broken, topicForm)).toThrow(new RegExp(`: ${LABELS[name]} must `));
          expect(() => formatTopic(broken, topicForm)).toThrow(TypeError);
        },
      ),
    );
  });

  it('refuses the reserved app and unknown kinds', () => {
    expect(() => formatTopic({ kind: 'groupsUpdate', app: 'observer' }, 'amqp')).toThrow(
      new TypeError("cannot format groupsUpdate topic: app id 'observer' is reserved for services"),
    );
    expect(() => formatTopic({ kind: 'nope', app: 'x' } as unknown as Topic, 'amqp')).toThrow(TypeError);
  });
});

describe('topicPattern', () => {
  it('spells the wildcard of each form', () => {
    expect(topicPattern('outgoing', 'amqp')).toBe('apps.*.outgoing.users.*.messages.*.outgoing');
    expect(topicPattern('outgoing', 'mqtt')).toBe('apps/+/outgoing/users/+/messages/+/outgoing');
    expect(topicPattern('outgoing', 'amqp', 'tilechat')).toBe(
      'apps.tilechat.outgoing.users.*.messages.*.outgoing',
    );
    expect(topicPattern('groupsUpdate', 'amqp')).toBe('apps.observer.*.groups.update');
    expect(topicPattern('groupsUpdate', 'mqtt', 'tilechat')).toBe('apps/observer/tilechat/groups/update');
    expect(topicPattern('messageUpdate', 'amqp', 'tilechat')).toBe(
      'apps.tilechat.users.*.messages.*.*.update',
    );
    expect(topicPattern('messageEdit', 'mqtt', 'tilechat')).toBe('apps/tilechat/users/+/messages/+/+/edit');
    expect(topicPattern('messageReact', 'amqp')).toBe('apps.*.users.*.messages.*.*.react');
  });

  it('refuses invalid app ids', () => {
    expect(() => topicPattern('outgoing', 'amqp', 'observer')).toThrow(TypeError);
    expect(() => topicPattern('outgoing', 'amqp', 'a.b')).toThrow(
      new TypeError("app id must not contain '.'"),
    );
    expect(() => topicPattern('outgoing', 'amqp', '*')).toThrow(TypeError);
  });

  it('matches exactly the topics of its kind', () => {
    fc.assert(
      fc.property(anyTopic, form, (topic, topicForm) => {
        const text = formatTopic(topic, topicForm);
        const matching = KINDS.filter((kind) =>
          patternMatches(topicPattern(kind, topicForm), text, topicForm),
        );
        expect(matching).toEqual([topic.kind]);
      }),
      { numRuns: 2000 },
    );
  });

  it('with an app, matches exactly the topics of its kind in that app', () => {
    fc.assert(
      fc.property(anyTopic, appId, form, (topic, app, topicForm) => {
        const text = formatTopic(topic, topicForm);
        for (const kind of KINDS) {
          const matches = patternMatches(topicPattern(kind, topicForm, app), text, topicForm);
          expect(matches).toBe(kind === topic.kind && app === topic.app);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('inboxPattern', () => {
  it('is Chat21 client subscription', () => {
    expect(inboxPattern('tilechat', 'U1', 'mqtt')).toBe('apps/tilechat/users/U1/#');
    expect(inboxPattern('tilechat', 'U1', 'amqp')).toBe('apps.tilechat.users.U1.#');
    expect(() => inboxPattern('tilechat', 'U+', 'mqtt')).toThrow(
      new TypeError("user id must not contain '+'"),
    );
    expect(() => inboxPattern('observer', 'U1', 'mqtt')).toThrow(TypeError);
  });

  it("covers every topic in the user's own namespace and nobody else's", () => {
    const outsideInbox: TopicKind[] = ['outgoing', 'groupsUpdate', 'historyDelivery'];
    fc.assert(
      fc.property(anyTopic, appId, id, form, (topic, app, user, topicForm) => {
        const text = formatTopic(topic, topicForm);
        const owner = 'user' in topic ? topic.user : undefined;
        const inInbox = !outsideInbox.includes(topic.kind) && topic.app === app && owner === user;
        expect(patternMatches(inboxPattern(app, user, topicForm), text, topicForm)).toBe(inInbox);
      }),
      { numRuns: 2000 },
    );
  });
});
