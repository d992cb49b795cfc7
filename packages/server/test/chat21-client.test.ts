/**
 * Compatibility from the client's side: a client with the shape of Chat21's `chat21client.js`
 * (support/chat21-client.ts, written from chat21-protocol.md alone) runs a Chat21 app's scenarios
 * against both engines, and the tests assert what that app sees through its callbacks. The app
 * id is the stack's own (`chat21-<suffix>`), never `tilechat`; no message carries a message_id
 * (Chat21 clients never send one). Where Mercurio sends more or less than Chat21 it fixes a
 * defect of chat21-protocol.md §12, named where it is asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Chat21App, Chat21Client, type Json, type RestAnswer } from './support/chat21-client.js';
import { services } from './support/services.js';
import { ENGINES, TestStack } from './support/stack.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe.each(ENGINES)('a Chat21 client (chat21client.js shape) against Mercurio (%s)', (engine) => {
  const stack = new TestStack('chat21', { MERCURIO_HTTP_PORT: '0' }, engine);
  const apps: Chat21App[] = [];

  const endpoints = () => {
    const router = stack.router!;
    const MQTTendpoint = engine === 'rabbitmq' ? services().wsUrl : router.mqtt!.wsUrl!;
    return { MQTTendpoint, APIendpoint: `${router.httpUrl}${stack.config.http.basePath}` };
  };
  /** A Chat21 app signed in as `user`, connected and subscribed. */
  const signIn = async (user: string): Promise<Chat21App> => {
    const client = new Chat21Client({ appId: stack.app, ...endpoints() });
    const app = new Chat21App(client);
    apps.push(app);
    await client.connect(user, await stack.token(user));
    return app;
  };
  const ok = (answer: RestAnswer, status = 200): Json => {
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    return answer.body as Json;
  };
  const events = (app: Chat21App) => app.seen.map((s) => `${s.event} ${s.conversWith}`);

  beforeAll(async () => {
    await stack.startRouter({ http: true });
  });
  afterAll(async () => {
    await Promise.allSettled(apps.map((app) => app.client.close()));
    await stack.close();
  });

  it('direct chat both ways: each side sees its copy (100 / 150) and one conversation added per message', async () => {
    const alice = await signIn('alice');
    const bob = await signIn('bob');
    alice.watch('bob');
    bob.watch('alice');

    await alice.client.sendMessage('hi bob', 'text', 'bob', 'Bob', 'Alice the Great', null, null, 'direct');
    const atBob = await bob.message('hi bob');
    const atAlice = await alice.message('hi bob');
    const copy = {
      text: 'hi bob',
      type: 'text',
      recipient_fullname: 'Bob',
      // The router's trusted name (no profile: the user id), not the client's (§12 #32).
      sender_fullname: 'alice',
      attributes: null,
      metadata: null,
      channel_type: 'direct',
      message_id: expect.stringMatching(UUID),
      sender: 'alice',
      recipient: 'bob',
      app_id: stack.app,
      timestamp: expect.any(Number),
      seq: 1,
    };
    expect(atBob).toEqual({ ...copy, status: 150 });
    expect(atAlice).toEqual({ ...copy, status: 100, message_id: atBob.message_id });
    // Chat21's client makes the conversation from the message.
    expect(bob.of('conversationAdded')).toEqual([{ ...atBob, is_new: true }]);

    await bob.client.sendMessage('hi alice', 'text', 'alice', 'Alice', 'Bob', { a: 1 }, { w: 2 }, 'direct');
    const reply = await alice.message('hi alice');
    await bob.message('hi alice');
    expect(reply).toMatchObject({ status: 150, sender: 'bob', attributes: { a: 1 }, metadata: { w: 2 } });

    const perMessage = (peer: string) => [
      `messageAdded ${peer}`,
      `messageAddedInConversation ${peer}`,
      `conversationAdded ${peer}`,
    ];
    expect(events(alice)).toEqual([...perMessage('bob'), ...perMessage('bob')]);
    expect(events(bob)).toEqual([...perMessage('alice'), ...perMessage('alice')]);
    expect(alice.of('messageAdded').map((m) => m.status)).toEqual([100, 150]);
    expect(bob.of('messageAdded').map((m) => m.status)).toEqual([150, 100]);

    // Receipts: bob has alice's message (200); alice's copy becomes 250.
    const id = String(atBob.message_id);
    await bob.client.updateMessageStatus(id, 'alice', 200);
    const [toSender] = await alice.waitFor((s) => s.event === 'messageUpdatedInConversation');
    expect(toSender).toMatchObject({
      conversWith: 'bob',
      payload: { timelineOf: 'alice', message_id: id, status: 250, read_by: 'bob' },
    });
    expect(alice.of('messageUpdated')).toEqual([toSender!.payload]);
    // Mercurio also tells the reader's own devices (200) and their unread count: events Chat21
    // clients already handle (a status update of their copy; a conversation update).
    const [own] = await bob.waitFor((s) => s.event === 'messageUpdated');
    expect(own).toMatchObject({ conversWith: 'alice', payload: { message_id: id, status: 200 } });

    // Mark read: echoed as conversation updated.
    await bob.client.updateConversationIsNew('alice', false);
    const [read] = await bob.waitFor((s) => s.event === 'conversationUpdated' && s.payload.is_new === false);
    expect(read).toMatchObject({
      conversWith: 'alice',
      payload: { timelineOf: 'bob', conversWith: 'alice', is_new: false, unread_count: 0 },
    });

    // A receipt for a message that was not for the reader (alice's own) changes nothing (§12 #40).
    await alice.client.updateMessageStatus(id, 'bob', 200);
    await alice.client.sendMessage('last', 'text', 'bob', 'Bob', 'Alice', null, null, 'direct');
    await bob.message('last');
    await alice.message('last');
    expect(alice.of('messageUpdated')).toHaveLength(1);
    expect(bob.of('messageUpdated', 'alice').filter((u) => u.status === 250)).toEqual([]);
  });

  it('conversation lists, detail and history over REST in Chat21’s envelopes', async () => {
    const carl = await signIn('carl');
    const dora = await signIn('dora');
    await carl.client.sendMessage('one', 'text', 'dora', 'Dora', 'Carl', null, null, 'direct');
    await dora.message('one');
    await dora.client.sendMessage('two', 'text', 'carl', 'Carl', 'Dora', null, null, 'direct');
    await carl.message('two');
    // updateconversation false: delivered, but no conversation added and the list keeps "two".
    await dora.client.sendMessage(
      'quiet',
      'text',
      'carl',
      'Carl',
      'Dora',
      { updateconversation: false },
      null,
      'direct',
    );
    await carl.message('quiet');
    expect(carl.of('conversationAdded').map((c) => c.text)).toEqual(['one', 'two']);

    const list = ok(await carl.client.lastConversations(false));
    expect(list).toEqual({ success: true, result: [expect.any(Object)] });
    const [conversation] = list.result as Json[];
    expect(conversation).toMatchObject({
      timelineOf: 'carl',
      conversWith: 'dora',
      key: 'dora',
      is_new: true,
      archived: false,
      last_message_text: 'two',
      text: 'two',
      sender: 'dora',
      recipient: 'carl',
      channel_type: 'direct',
      app_id: stack.app,
      timestamp: expect.any(Number),
    });
    expect(ok(await carl.client.conversationDetail('dora'))).toEqual({
      success: true,
      result: [conversation],
    });
    expect(ok(await carl.client.conversationDetail('nobody'))).toEqual({ success: true, result: [] });

    const history = ok(await carl.client.lastMessages('dora'));
    expect(history.success).toBe(true);
    // Newest first, each as the owner's copy. (The status of carl's own "one" is left out: Mercurio
    // derives it from dora's read watermark, which her reply moved, so it reads 250 without a
    // receipt while carl's client was never told so live; Chat21 kept 100.)
    const messages = history.result as Json[];
    expect(messages.map((m) => [m.text, m.sender])).toEqual([
      ['quiet', 'dora'],
      ['two', 'dora'],
      ['one', 'carl'],
    ]);
    expect(messages.slice(0, 2).map((m) => m.status)).toEqual([150, 150]);
    expect(messages[2]).toMatchObject({ recipient: 'dora', channel_type: 'direct', app_id: stack.app });
    // Another user's list or history: refused (§12 #34), with Chat21's 401.
    const theirs = await fetch(`${endpoints().APIendpoint}/${stack.app}/carl/conversations`, {
      headers: { Authorization: await stack.token('dora') },
    });
    expect(theirs.status).toBe(401);
  });

  it('archive over MQTT: conversation deleted then archived conversation added; a new message brings it back', async () => {
    const erin = await signIn('erin');
    const finn = await signIn('finn');
    await finn.client.sendMessage('hello erin', 'text', 'erin', 'Erin', 'Finn', null, null, 'direct');
    await erin.message('hello erin');

    await erin.client.archiveConversation('finn');
    const [deleted] = await erin.waitFor((s) => s.event === 'conversationDeleted');
    const [added] = await erin.waitFor((s) => s.event === 'archivedConversationAdded');
    expect(deleted).toMatchObject({
      conversWith: 'finn',
      payload: { timelineOf: 'erin', conversWith: 'finn', archived: true, last_message_text: 'hello erin' },
    });
    expect(added!.payload).toEqual(deleted!.payload);
    expect(events(erin).slice(-2)).toEqual(['conversationDeleted finn', 'archivedConversationAdded finn']);

    expect(ok(await erin.client.lastConversations(false)).result).toEqual([]);
    const archived = ok(await erin.client.lastConversations(true));
    expect(archived).toEqual({ success: true, result: [expect.objectContaining({ conversWith: 'finn' })] });
    expect(ok(await erin.client.archivedConversationsOld())).toEqual(archived);
    expect(ok(await erin.client.archivedConversationDetail('finn')).result).toHaveLength(1);
    expect(ok(await erin.client.conversationDetail('finn')).result).toEqual([]);

    // A new message un-archives, and Mercurio says so (Chat21 never did, §12 #16).
    await finn.client.sendMessage('still there?', 'text', 'erin', 'Erin', 'Finn', null, null, 'direct');
    await erin.message('still there?');
    const [back] = await erin.waitFor((s) => s.event === 'archivedConversationDeleted');
    expect(back).toMatchObject({ conversWith: 'finn', payload: { archived: false } });
    expect(ok(await erin.client.lastConversations(false)).result).toEqual([
      expect.objectContaining({ conversWith: 'finn', last_message_text: 'still there?' }),
    ]);
    expect(ok(await erin.client.lastConversations(true)).result).toEqual([]);
    // The archive of a conversation one does not have reaches nothing.
    await erin.client.archiveConversation('nobody');
    await finn.client.sendMessage('sentinel', 'text', 'erin', 'Erin', 'Finn', null, null, 'direct');
    await erin.message('sentinel');
    expect(erin.of('conversationDeleted')).toHaveLength(1);
  });

  it('groups over REST: info messages at creation, group updated on join / leave / set members as Chat21 counts them', async () => {
    const users = ['gina', 'hugo', 'ivy', 'jack', 'kim'] as const;
    const app = {} as Record<(typeof users)[number], Chat21App>;
    for (const user of users) app[user] = await signIn(user);
    const { gina, hugo, ivy, jack, kim } = app;

    const created = ok(await gina.client.groupCreate('Team', undefined, { hugo: 1, ivy: 1 }), 201);
    const group = created.group as Json;
    const gid = String(group.uid);
    expect(gid).toMatch(/^group-[0-9a-f-]{36}$/);
    expect(created).toEqual({
      success: true,
      group: {
        uid: gid,
        name: 'Team',
        appId: stack.app,
        owner: 'gina',
        members: { gina: 1, hugo: 1, ivy: 1 },
        createdOn: expect.any(Number),
        updatedOn: expect.any(Number),
      },
    });
    for (const user of [gina, hugo, ivy]) user.watch(gid);
    const creationTexts = [
      'Group created',
      ...['gina', 'hugo', 'ivy'].map((m) => `${m} joined group on creation`),
    ];
    for (const user of [gina, hugo, ivy]) await user.message(creationTexts.at(-1)!, gid);
    const [first] = hugo.of('messageAdded', gid);
    expect(first).toMatchObject({
      text: 'Group created',
      sender: 'system',
      sender_fullname: 'System',
      recipient: gid,
      recipient_fullname: 'Team',
      channel_type: 'group',
      type: 'text',
      status: 150,
      message_id: expect.stringMatching(UUID),
      attributes: { subtype: 'info', updateconversation: true, messagelabel: { key: 'GROUP_CREATED' } },
    });
    // Each info message is a message added and, by Chat21's client rule, a conversation added;
    // nothing else (no group updated at creation).
    const creation = ivy.seen
      .filter((s) => !s.event.endsWith('InConversation'))
      .map((s) => `${s.event} ${s.event === 'messageAdded' ? s.payload.text : s.conversWith}`);
    expect(creation).toEqual(
      creationTexts.flatMap((text) => [`messageAdded ${text}`, `conversationAdded ${gid}`]),
    );
    expect(ok(await hugo.client.groupData(gid))).toEqual({ success: true, result: group });

    // A member writes (channel_type group, no message_id): every member, the sender too, 150.
    await hugo.client.sendMessage('hi team', 'text', gid, 'Team', 'Hugo', null, null, 'group');
    for (const user of [gina, hugo, ivy]) {
      expect(await user.message('hi team', gid)).toMatchObject({
        sender: 'hugo',
        status: 150,
        channel_type: 'group',
      });
    }
    // The real sender hears of a member's receipt (Chat21 told a pseudo-inbox, §12 #14).
    const hi = (await ivy.message('hi team')).message_id as string;
    await ivy.client.updateMessageStatus(hi, gid, 200);
    const [receipt] = await hugo.waitFor((s) => s.event === 'messageUpdated' && s.payload.status === 250);
    expect(receipt).toMatchObject({ conversWith: gid, payload: { message_id: hi, read_by: 'ivy' } });
    // A non-member's message reaches nobody (§12 #32); Chat21's client sees nothing of the refusal.
    await kim.client.sendMessage('let me in', 'text', gid, 'Team', 'Kim', null, null, 'group');

    // #16 join: everyone, jack included, gets one group updated; jack gets the history first.
    ok(await gina.client.groupJoin(gid, 'jack'));
    jack.watch(gid);
    for (const user of [gina, hugo, ivy, jack]) await user.message('jack added to group', gid);
    // #18 ivy leaves: the old members (ivy too) are told; the others get the info message.
    ok(await ivy.client.groupLeave(gid, 'ivy'));
    for (const user of [gina, hugo, jack]) await user.message('ivy removed from group', gid);
    // #17 set members: jack out, kim in; old and new members are told (Chat21: old only, §12 #21).
    ok(await gina.client.groupSetMembers(gid, { gina: 1, hugo: 1, kim: 1 }));
    kim.watch(gid);
    for (const user of [gina, hugo, kim]) await user.message('jack removed from group', gid);
    await kim.message('kim added to group', gid);
    const counts = { gina: 3, hugo: 3, ivy: 2, jack: 3, kim: 1 };
    for (const user of users) await app[user].waitFor((s) => s.event === 'groupUpdated', counts[user]);
    // Sentinel: everything before it has arrived.
    await hugo.client.sendMessage('the end', 'text', gid, 'Team', 'Hugo', null, null, 'group');
    for (const user of [gina, hugo, kim]) await user.message('the end', gid);
    await ivy.client.sendMessage('bye', 'text', 'gina', 'Gina', 'Ivy', null, null, 'direct');
    await jack.client.sendMessage('bye', 'text', 'gina', 'Gina', 'Jack', null, null, 'direct');
    await gina.waitFor((s) => s.event === 'messageAdded' && s.payload.text === 'bye', 2);

    const labels = (user: Chat21App) =>
      user.of('groupUpdated', gid).map((g) => {
        const label = (g.notification as { messagelabel?: { key: string } } | undefined)?.messagelabel;
        return label ? label.key : 'update';
      });
    const stayed = ['MEMBER_JOINED_GROUP', 'MEMBER_LEFT_GROUP', 'update'];
    expect(labels(gina)).toEqual(stayed);
    expect(labels(hugo)).toEqual(stayed);
    expect(labels(ivy)).toEqual(['MEMBER_JOINED_GROUP', 'MEMBER_LEFT_GROUP']);
    expect(labels(jack)).toEqual(stayed);
    expect(labels(kim)).toEqual(['update']);
    expect(gina.of('groupUpdated', gid).at(-1)).toMatchObject({
      uid: gid,
      name: 'Team',
      appId: stack.app,
      owner: 'gina',
      members: { gina: 1, hugo: 1, kim: 1 },
    });

    const texts = (user: Chat21App, history: boolean) =>
      user
        .of('messageAdded', gid)
        .filter((m) => (m.__history === 'true') === history)
        .map((m) => m.text);
    expect(texts(gina, false)).toEqual([
      ...creationTexts,
      'hi team',
      'jack added to group',
      'ivy removed from group',
      'kim added to group',
      'jack removed from group',
      'the end',
    ]);
    expect(texts(ivy, false)).toEqual([...creationTexts, 'hi team', 'jack added to group']);
    // The newest history, before and never including the joiner's own info message (§12 #18).
    expect(texts(jack, true)).toEqual([...creationTexts, 'hi team']);
    expect(texts(jack, false)).toEqual(['jack added to group', 'ivy removed from group']);
    expect(texts(kim, true)).toEqual([
      ...creationTexts,
      'hi team',
      'jack added to group',
      'ivy removed from group',
    ]);
    expect(texts(kim, false)).toEqual(['kim added to group', 'jack removed from group', 'the end']);
    expect(kim.of('messageAdded', gid).some((m) => m.text === 'let me in')).toBe(false);
    // Every message made its conversation (Chat21's client rule), history included.
    expect(kim.of('conversationAdded', gid)).toHaveLength(kim.of('messageAdded', gid).length);
    expect(ok(await kim.client.lastConversations(false)).result).toEqual([
      expect.objectContaining({ conversWith: gid, channel_type: 'group', last_message_text: 'the end' }),
    ]);
    // Chat21's REST refusals: a member who is not the owner may not add (401); unknown group 404.
    expect((await hugo.client.groupJoin(gid, 'ivy')).status).toBe(401);
    const missing = await hugo.client.groupData('group-nope');
    expect(missing).toMatchObject({ status: 404, body: { success: false, code: 'group_not_found' } });
  });

  it('a Chat21 client’s last will (QoS 1, retained) takes it offline on both brokers', async () => {
    const lena = await signIn('lena');
    const observer = await signIn('mo');
    const presence = async () => {
      const res = await fetch(`${endpoints().APIendpoint}/v1/apps/${stack.app}/presence?users=lena`, {
        headers: { Authorization: await stack.token('mo') },
      });
      return ((await res.json()) as { result: { status: string }[] }).result[0]?.status;
    };
    const until = async (status: string) => {
      const deadline = Date.now() + 10_000;
      while ((await presence()) !== status) {
        if (Date.now() > deadline) throw new Error(`lena never became ${status}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await until('online');
    // The connection drops without DISCONNECT (a closed laptop): the broker publishes the will.
    const mqtt = lena.client.client!;
    mqtt.options.reconnectPeriod = 0;
    mqtt.stream.destroy();
    await until('offline');
    expect(observer.seen).toEqual([]);
  });
});
