import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AccessRequest,
  chat21UserScopes,
  DEFAULT_RESOURCE_SERVER_ID,
  type Permission,
  scopeAllows,
  serviceScopes,
  userScopes,
} from '../src/scopes.js';
import { formatTopic, inboxPattern, type Topic, type TopicKind } from '../src/topics.js';

const U1 = userScopes('tilechat', 'U1');
const publish = (routingKey: string): AccessRequest => ({
  permission: 'write',
  vhost: '/',
  resource: 'amq.topic',
  routingKey,
});
const bind = (routingKey: string): AccessRequest => ({
  permission: 'read',
  vhost: '/',
  resource: 'amq.topic',
  routingKey,
});
const resource = (permission: Permission, name: string, vhost = '/'): AccessRequest => ({
  permission,
  vhost,
  resource: name,
});

describe('userScopes', () => {
  it("is Chat21's topic patterns, limited to amq.topic and the MQTT plugin's subscription queues", () => {
    expect(U1).toEqual([
      'rabbitmq.read:*/amq.topic/apps.tilechat.users.U1.*',
      'rabbitmq.write:*/amq.topic/apps.tilechat.users.U1.*',
      'rabbitmq.write:*/amq.topic/apps.tilechat.outgoing.users.U1.*',
      'rabbitmq.read:*/mqtt-subscription-*',
      'rabbitmq.write:*/mqtt-subscription-*',
      'rabbitmq.configure:*/mqtt-subscription-*',
    ]);
    expect(userScopes('support', 'bot@x:1', 'mercurio')[2]).toBe(
      'mercurio.write:*/amq.topic/apps.support.outgoing.users.bot@x:1.*',
    );
    expect(chat21UserScopes('tilechat', 'U1')).toEqual([
      'rabbitmq.read:*/*/apps.tilechat.users.U1.*',
      'rabbitmq.write:*/*/apps.tilechat.users.U1.*',
      'rabbitmq.write:*/*/apps.tilechat.outgoing.users.U1.*',
      'rabbitmq.configure:*/*/*',
    ]);
  });

  it("grants no access to the router's queues or other exchanges (Chat21's set does)", () => {
    for (const permission of ['read', 'write', 'configure'] as const) {
      expect(scopeAllows(U1, resource(permission, 'mercurio.messages'))).toBe(false);
      expect(scopeAllows(U1, resource(permission, 'mqtt-subscription-U1-abcqos1'))).toBe(true);
    }
    expect(scopeAllows(U1, resource('write', 'amq.fanout'))).toBe(false);
    expect(scopeAllows(chat21UserScopes('tilechat', 'U1'), resource('read', 'mercurio.messages'))).toBe(true);
  });

  it('refuses ids that would widen or bend the patterns', () => {
    for (const user of ['', '*', 'U1.*', 'U1/x', 'a b', '#']) {
      expect(() => userScopes('tilechat', user)).toThrow(TypeError);
    }
    expect(() => userScopes('observer', 'U1')).toThrow(
      new TypeError("app id 'observer' is reserved for services"),
    );
    expect(() => userScopes('tile.chat', 'U1')).toThrow(TypeError);
  });

  it("escapes '%' so that an id cannot decode to another user's id", () => {
    const scopes = userScopes('tilechat', 'U%31');
    expect(scopes[0]).toBe('rabbitmq.read:*/amq.topic/apps.tilechat.users.U%2531.*');
    expect(scopeAllows(scopes, publish('apps.tilechat.users.U%31.messages.U2.m1.update'))).toBe(true);
    expect(scopeAllows(scopes, publish('apps.tilechat.users.U1.messages.U2.m1.update'))).toBe(false);
  });
});

describe('serviceScopes', () => {
  it('grants read, write and configure on everything', () => {
    expect(serviceScopes()).toEqual([
      'rabbitmq.read:*/*/*',
      'rabbitmq.write:*/*/*',
      'rabbitmq.configure:*/*/*',
    ]);
    expect(serviceScopes('mercurio')).toEqual([
      'mercurio.read:*/*/*',
      'mercurio.write:*/*/*',
      'mercurio.configure:*/*/*',
    ]);
  });

  it('allows any request', () => {
    const text = fc.string({
      unit: fc.constantFrom('a', '/', '.', '*', '#', '%', '+', ' ', 'é', '🙂'),
      maxLength: 40,
    });
    const request = fc.record(
      {
        permission: fc.constantFrom<Permission>('read', 'write', 'configure'),
        vhost: text,
        resource: text,
        routingKey: text,
      },
      { requiredKeys: ['permission', 'vhost', 'resource'] },
    );
    fc.assert(
      fc.property(request, (r) => {
        expect(scopeAllows(serviceScopes(), r)).toBe(true);
      }),
    );
  });
});

describe('scopeAllows', () => {
  it.each<[string, readonly string[], AccessRequest, boolean]>([
    // The user's own namespace (topic access on amq.topic)
    ['publish a receipt', U1, publish('apps.tilechat.users.U1.messages.U2.m1.update'), true],
    ['publish a message', U1, publish('apps.tilechat.outgoing.users.U1.messages.U2.outgoing'), true],
    ['publish presence', U1, publish('apps.tilechat.users.U1.presence.c-1'), true],
    ['bind the inbox subscription', U1, bind('apps.tilechat.users.U1.#'), true],
    ['bind one conversation', U1, bind('apps.tilechat.users.U1.messages.U2.*'), true],
    // Everybody else's
    ["publish into another user's inbox", U1, publish('apps.tilechat.users.U2.x'), false],
    ['publish into a user whose id extends mine', U1, publish('apps.tilechat.users.U10.x'), false],
    [
      "publish as another user's outgoing",
      U1,
      publish('apps.tilechat.outgoing.users.U2.messages.U1.outgoing'),
      false,
    ],
    ["bind another user's inbox", U1, bind('apps.tilechat.users.U2.#'), false],
    ['bind every inbox', U1, bind('apps.tilechat.users.#'), false],
    ['bind every inbox with a one-word wildcard', U1, bind('apps.tilechat.users.*.#'), false],
    ['bind everything', U1, bind('#'), false],
    [
      'read my own outgoing (write-only)',
      U1,
      bind('apps.tilechat.outgoing.users.U1.messages.U2.outgoing'),
      false,
    ],
    ['publish a group update as a service', U1, publish('apps.observer.tilechat.groups.update'), false],
    [
      'publish a history delivery',
      U1,
      publish('apps.observer.tilechat.users.U1.messages.g.delivered'),
      false,
    ],
    ['publish in another app', U1, publish('apps.other.users.U1.messages.U2.m1.update'), false],
    ['publish to the bare namespace root', U1, publish('apps.tilechat.users.U1'), false],
    // Resource access: the routing-key part of a scope does not narrow it
    ['declare an MQTT subscription queue', U1, resource('configure', 'mqtt-subscription-c1qos0'), true],
    ['consume from that queue', U1, resource('read', 'mqtt-subscription-c1qos0'), true],
    ['write to the exchange', U1, resource('write', 'amq.topic'), true],
    ['read a queue that is not an MQTT subscription queue', U1, resource('read', 'q', 'other'), false],
    // Scope grammar
    ['another resource server', ['other.write:*/*/*'], publish('a'), false],
    ['a prefix without the dot', ['rabbitmqx.write:*/*/*'], publish('a'), false],
    ['a tag scope', ['rabbitmq.tag:administrator'], resource('read', 'q'), false],
    ['a permission in capitals', ['rabbitmq.READ:*/*'], resource('read', 'q'), false],
    ['an unknown permission', ['rabbitmq.delete:*/*'], resource('read', 'q'), false],
    ['another permission', ['rabbitmq.read:*/*/*'], publish('a'), false],
    ['one part', ['rabbitmq.read:*'], resource('read', 'q'), false],
    ['four parts', ['rabbitmq.read:*/*/*/*'], resource('read', 'q'), false],
    ['two parts, resource access', ['rabbitmq.write:*/*'], resource('write', 'amq.topic'), true],
    ['two parts, topic access', ['rabbitmq.write:*/*'], publish('a.b'), false],
    ['a vhost pattern', ['rabbitmq.read:prod/*'], resource('read', 'q', 'prod'), true],
    ['another vhost', ['rabbitmq.read:prod/*'], resource('read', 'q', 'production'), false],
    ['the default vhost, escaped', ['rabbitmq.read:%2F/*'], resource('read', 'q'), true],
    ['the default vhost, unescaped', ['rabbitmq.read://*'], resource('read', 'q'), false],
    ['an exchange pattern', ['rabbitmq.write:*/amq.*/a.*'], publish('a.b'), true],
    ['another exchange', ['rabbitmq.write:*/amq.*/a.*'], { ...publish('a.b'), resource: 'x' }, false],
    ['the nameless default exchange', ['rabbitmq.write:*/*'], resource('write', ''), true],
    // Wildcards and URL decoding
    ["'*' spans dots and slashes", ['rabbitmq.write:*/*/a*b'], publish('a.x/y.b'), true],
    ["'*' matches nothing", ['rabbitmq.write:*/*/a*b'], publish('ab'), true],
    ['several wildcards', ['rabbitmq.read:*/s*e*str*'], resource('read', 'some long string'), true],
    ['an absent middle piece', ['rabbitmq.read:*/s*z*str*'], resource('read', 'some long string'), false],
    ["an escaped '*' is literal", ['rabbitmq.read:*/q%2A'], resource('read', 'q*'), true],
    ["an escaped '*' is not a wildcard", ['rabbitmq.read:*/q%2a'], resource('read', 'q1'), false],
    ["an escaped '/' stays in its part", ['rabbitmq.read:*/a%2Fb'], resource('read', 'a/b'), true],
    ["'+' is a space", ['rabbitmq.read:*/a+b'], resource('read', 'a b'), true],
    ["'+' is not a plus", ['rabbitmq.read:*/a+b'], resource('read', 'a+b'), false],
    ["an escaped '+' is a plus", ['rabbitmq.read:*/a%2Bb'], resource('read', 'a+b'), true],
    ['escaped UTF-8', ['rabbitmq.read:*/%E4%B8%AD*'], resource('read', '中文'), true],
    ['raw UTF-8', ['rabbitmq.read:*/中*'], resource('read', '中文'), true],
    ["a stray '%' spoils the pattern", ['rabbitmq.read:*/100%'], resource('read', '100%'), false],
    ["a bad escape spoils even a '*'", ['rabbitmq.read:*/*%zz*'], resource('read', 'x%zzx'), false],
    ['exact names are exact', ['rabbitmq.read:*/foo'], resource('read', 'fooo'), false],
    ['names are case-sensitive', ['rabbitmq.read:*/Foo'], resource('read', 'foo'), false],
    // RabbitMQ's matcher takes each piece at its first occurrence and never backtracks
    ['a suffix pattern', ['rabbitmq.read:*/*a'], resource('read', 'ba'), true],
    [
      'a suffix pattern, suffix repeated (RabbitMQ quirk)',
      ['rabbitmq.read:*/*a'],
      resource('read', 'aa'),
      false,
    ],
    ['a doubled trailing wildcard', ['rabbitmq.read:*/a**'], resource('read', 'ab'), true],
    [
      'a doubled trailing wildcard, nothing left (RabbitMQ quirk)',
      ['rabbitmq.read:*/a**'],
      resource('read', 'a'),
      false,
    ],
  ])('%s', (_, scopes, request, allowed) => {
    expect(scopeAllows(scopes, request)).toBe(allowed);
  });

  it('reads only the scopes of its own resource server', () => {
    const mercurio = userScopes('tilechat', 'U1', 'mercurio');
    const receipt = publish('apps.tilechat.users.U1.messages.U2.m1.update');
    expect(scopeAllows(mercurio, receipt, 'mercurio')).toBe(true);
    expect(scopeAllows(mercurio, receipt)).toBe(false);
    expect(scopeAllows(U1, receipt, 'mercurio')).toBe(false);
    expect(scopeAllows(U1, receipt, 'rabbit')).toBe(false);
    expect(DEFAULT_RESOURCE_SERVER_ID).toBe('rabbitmq');
  });

  it('uses scopes as they are when the resource server id is empty, as RabbitMQ does', () => {
    expect(scopeAllows(['write:*/*/*'], publish('a'), '')).toBe(true);
    expect(scopeAllows(['rabbitmq.write:*/*/*'], publish('a'), '')).toBe(false);
  });

  it('ignores claims that are not strings', () => {
    const junk = [42, null, { scope: 'rabbitmq.write:*/*/*' }] as unknown as string[];
    expect(scopeAllows(junk, publish('a'))).toBe(false);
  });
});

describe('user scopes against the topic grammar', () => {
  const KINDS: Record<TopicKind, readonly string[]> = {
    outgoing: ['recipient'],
    messageUpdate: ['conversWith', 'messageId'],
    messageEdit: ['conversWith', 'messageId'],
    messageDelete: ['conversWith', 'messageId'],
    messageReact: ['conversWith', 'messageId'],
    conversationUpdate: ['conversWith'],
    archive: ['conversWith'],
    unarchive: ['conversWith'],
    presence: ['clientId'],
    typing: ['conversWith'],
    groupsUpdate: [],
    historyDelivery: ['conversWith'],
    messageAdded: ['conversWith'],
    messageUpdated: ['conversWith', 'messageId'],
    conversationAdded: ['conversWith'],
    conversationUpdated: ['conversWith'],
    conversationDeleted: ['conversWith'],
    archivedConversationAdded: ['conversWith'],
    archivedConversationDeleted: ['conversWith'],
    groupUpdated: ['groupId'],
    presenceChanged: ['peer'],
    typingChanged: ['conversWith'],
    error: [],
  };
  const SERVICE_ONLY: TopicKind[] = ['groupsUpdate', 'historyDelivery'];
  // Small alphabets so that apps and users often coincide; '%' and hex digits probe the decoding.
  const small = fc.string({
    unit: fc.constantFrom('U', '1', '3', '%', 'é', '-'),
    minLength: 1,
    maxLength: 4,
  });
  const keyword = fc.constantFrom('users', 'outgoing', 'apps', 'messages', 'update');
  const id = fc.oneof(small, keyword);
  const app = fc.oneof(fc.constantFrom('tilechat', 'other'), keyword);
  const topic = fc.constantFrom(...(Object.keys(KINDS) as TopicKind[])).chain((kind) => {
    const others = Object.fromEntries(KINDS[kind].map((name) => [name, id]));
    const user = kind === 'groupsUpdate' ? {} : { user: id };
    return fc.record({ app, ...user, ...others }).map((values) => ({ kind, ...values }) as Topic);
  });

  it('a user may publish exactly within its own app and user namespaces', () => {
    fc.assert(
      fc.property(topic, app, id, (t, myApp, me) => {
        const mine = !SERVICE_ONLY.includes(t.kind) && t.app === myApp && 'user' in t && t.user === me;
        expect(scopeAllows(userScopes(myApp, me), publish(formatTopic(t, 'amqp')))).toBe(mine);
      }),
      { numRuns: 3000 },
    );
  });

  it('a user may bind exactly its own inbox topics, not its outgoing ones', () => {
    fc.assert(
      fc.property(topic, app, id, (t, myApp, me) => {
        const inInbox = !SERVICE_ONLY.includes(t.kind) && t.kind !== 'outgoing';
        const mine = inInbox && t.app === myApp && 'user' in t && t.user === me;
        expect(scopeAllows(userScopes(myApp, me), bind(formatTopic(t, 'amqp')))).toBe(mine);
      }),
      { numRuns: 3000 },
    );
  });

  it("a user may subscribe to its own inbox and no one else's", () => {
    fc.assert(
      fc.property(app, id, app, id, (myApp, me, otherApp, other) => {
        const scopes = userScopes(myApp, me);
        expect(scopeAllows(scopes, bind(inboxPattern(myApp, me, 'amqp')))).toBe(true);
        const same = otherApp === myApp && other === me;
        expect(scopeAllows(scopes, bind(inboxPattern(otherApp, other, 'amqp')))).toBe(same);
      }),
    );
  });
});
