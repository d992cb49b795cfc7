import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClient } from './support/mqtt-client.js';
import { MercurioProcess } from './support/router-process.js';

/** What `npm start` gives a person on a machine with no broker and no database. */
describe('Mercurio in one process (embedded engine), as started by npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mercurio-process-'));
  const env = {
    MERCURIO_DEV: 'true',
    MERCURIO_DATA_DIR: dataDir,
    MERCURIO_HTTP_PORT: '0',
    MERCURIO_MQTT_PORT: '0',
    MERCURIO_LOG_LEVEL: 'warn',
  };
  const app = 'tilechat';
  const clients: TestClient[] = [];
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.end()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const endpoints = (output: string) => ({
    api: /HTTP API\s+(\S+)/.exec(output)![1]!,
    ws: /MQTT over WebSocket\s+(\S+)/.exec(output)![1]!,
    tcp: /MQTT over TCP\s+(\S+)/.exec(output)![1]!,
  });
  async function login(api: string, user: string): Promise<string> {
    const response = await fetch(`${api}/v1/apps/${app}/dev/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: user }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { result: { token: string } }).result.token;
  }
  async function chatClient(url: string, token: string, user: string) {
    const client = await TestClient.connect(url, token, { clientId: `${user}-${randomUUID().slice(0, 6)}` });
    clients.push(client);
    await client.subscribe(`apps/${app}/users/${user}/#`);
    return client;
  }

  let aliceToken = '';
  let bobToken = '';

  it('starts, prints its endpoints, and two WebSocket clients chat directly and in a group', {
    timeout: 60_000,
  }, async () => {
    const mercurio = new MercurioProcess(env, 'serve');
    await mercurio.start('Mercurio is running');
    expect(mercurio.output).toContain('DEV MODE');
    const { api, ws } = endpoints(mercurio.output);
    aliceToken = await login(api, 'alice');
    bobToken = await login(api, 'bob');
    const alice = await chatClient(ws, aliceToken, 'alice');
    const bob = await chatClient(ws, bobToken, 'bob');

    await alice.publish(`apps/${app}/outgoing/users/alice/messages/bob/outgoing`, { text: 'hello bob' });
    await bob.waitFor((m) => m.payload.text === 'hello bob');

    const created = await fetch(`${api}/${app}/groups`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: aliceToken },
      body: JSON.stringify({ group_id: 'group-friends', group_name: 'Friends', group_members: { bob: 1 } }),
    });
    expect(created.status).toBe(201);
    await alice.publish(`apps/${app}/outgoing/users/alice/messages/group-friends/outgoing`, {
      text: 'hello group',
      channel_type: 'group',
    });
    await bob.waitFor(
      (m) => m.payload.text === 'hello group' && m.topic.includes('/messages/group-friends/'),
    );

    await Promise.all(clients.splice(0).map((c) => c.end()));
    expect(await mercurio.kill('SIGTERM')).toBe(0);
  });

  it('after a restart the history is still there, and the tokens still work', {
    timeout: 60_000,
  }, async () => {
    const mercurio = new MercurioProcess(env, 'serve');
    await mercurio.start('Mercurio is running');
    const { api, tcp } = endpoints(mercurio.output);
    const history = async (conversation: string) => {
      const response = await fetch(`${api}/${app}/bob/conversations/${conversation}/messages`, {
        headers: { authorization: bobToken },
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { result: { text: string }[] }).result.map((m) => m.text);
    };
    expect(await history('alice')).toEqual(['hello bob']);
    expect(await history('group-friends')).toContain('hello group');
    const bob = await chatClient(tcp, bobToken, 'bob');
    expect(bob.closed).toBe(false);

    // A second Mercurio on the same ports fails at once, saying why.
    const ports = {
      MERCURIO_HTTP_PORT: new URL(api).port,
      MERCURIO_MQTT_PORT: new URL(tcp).port,
    };
    const second = new MercurioProcess({ ...env, ...ports }, 'serve');
    await expect(second.start('Mercurio is running')).rejects.toThrow(/already in use/);
    expect(await second.exited()).toBe(1);

    await bob.end();
    expect(await mercurio.kill('SIGTERM')).toBe(0);
  });
});
