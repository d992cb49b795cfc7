import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { signServiceToken, signUserToken } from '../src/auth/tokens.js';
import { type DeadLettersCommand, parseCommand } from '../src/cli.js';
import { runDeadLetters } from '../src/dead-letters-cli.js';
import type { TestClient } from './support/mqtt-client.js';
import { services } from './support/services.js';
import { ENGINES, TestStack } from './support/stack.js';

const run = promisify(execFile);

interface LetterView {
  id: string;
  topic: string;
  kind: string | null;
  sender: string | null;
  attempts: number;
  error: string;
  failed_at: number;
  payload_size: number;
  payload_preview: string;
}

/**
 * An operator's view of the dead letters (docs/operations.md, "Dead letters"): a real message the
 * store refuses (a test-only trigger raises a data exception for a marker text, as in
 * router-poison.test.ts) is set aside, listed over the admin routes, replayed once the cause is
 * fixed — stored and delivered once — or dropped. Other apps' admins and plain users get nowhere.
 * On RabbitMQ the letter travels through `<queuePrefix>.dead` into the table; nothing stays behind.
 */
describe.each(ENGINES)('dead letters: list, replay, drop over the admin API (%s)', (engine) => {
  const stack = new TestStack('deadadmin', { MERCURIO_HTTP_PORT: '0' }, engine);
  const name = `deadadmin_${stack.app.replaceAll('-', '_')}`;
  const otherApp = `${stack.app}-other`;
  let pat: TestClient;
  let quinn: TestClient;
  let admin: string;
  const poison = { text: 'POISON-MARKER refused until the operator fixes it', message_id: randomUUID() };

  beforeAll(async () => {
    await stack.startRouter({ http: true });
    await stack.sql.query(`
      CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.app_id = '${stack.app}' AND NEW.text LIKE '%POISON-MARKER%' THEN
          RAISE EXCEPTION 'test trigger: this text is refused' USING ERRCODE = '22023';
        END IF;
        RETURN NEW;
      END $$`);
    await refuseMarker(true);
    [pat, quinn] = await Promise.all([stack.client('pat'), stack.client('quinn')]);
    admin = await stack.adminToken();
  });
  afterAll(async () => {
    await refuseMarker(false).catch(() => {});
    await stack.sql.query(`DROP FUNCTION IF EXISTS ${name}()`).catch(() => {});
    await stack.close();
  });

  async function refuseMarker(on: boolean): Promise<void> {
    await stack.sql.query(
      on
        ? `CREATE TRIGGER ${name} BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION ${name}()`
        : `DROP TRIGGER IF EXISTS ${name} ON messages`,
    );
  }

  function api(method: string, path: string, token: string, app = stack.app) {
    return fetch(`${stack.router!.httpUrl}/api/v1/apps/${app}/dead-letters${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
    });
  }

  async function list(query = ''): Promise<{ result: LetterView[]; next_after: string | null }> {
    const response = await api('GET', query, admin);
    expect(response.status).toBe(200);
    return (await response.json()) as { result: LetterView[]; next_after: string | null };
  }

  /** Waits until the app has `count` letters (on RabbitMQ they are moved from the queue). */
  async function lettersWhen(count: number): Promise<LetterView[]> {
    return vi.waitFor(
      async () => {
        const { result } = await list();
        if (result.length !== count) throw new Error(`${result.length} dead letters, waiting for ${count}`);
        return result;
      },
      { timeout: 15_000, interval: 100 },
    );
  }

  const errors = (m: { topic: string }) => m.topic === stack.topic('users', 'pat', 'errors', 'clientadded');
  const poisonCopies = () =>
    quinn.received.filter(
      (m) => m.payload.message_id === poison.message_id && m.topic.endsWith('/clientadded'),
    );

  async function expectRefusal(response: Response, status: number, code: string): Promise<void> {
    expect(response.status).toBe(status);
    expect(response.headers.get('x-mercurio-error')).toBe(code);
  }

  let firstId: string;

  it('a message the store refuses is listed with what an operator needs', { timeout: 30_000 }, async () => {
    await pat.publish(stack.outgoing('pat', 'quinn'), poison);
    await pat.waitFor(errors);
    const [letter] = await lettersWhen(1);
    expect(letter).toMatchObject({
      topic: stack.outgoing('pat', 'quinn'),
      kind: 'outgoing',
      sender: 'pat',
      attempts: 2,
      payload_size: Buffer.byteLength(JSON.stringify(poison)),
      payload_preview: JSON.stringify(poison),
    });
    expect(letter!.error).toContain('test trigger');
    expect(Math.abs(letter!.failed_at - Date.now())).toBeLessThan(60_000);
    firstId = letter!.id;
    if (engine === 'rabbitmq') expect(await deadQueueDepth()).toBe(0);
  });

  it('another app’s admin and a plain user cannot see, replay or drop it; a service token can see it', async () => {
    const intruder = await signUserToken(stack.config.jwt, {
      app: otherApp,
      user: 'api-admin',
      ttlSeconds: 600,
      role: 'admin',
    });
    await expectRefusal(await api('GET', '', intruder), 403, 'forbidden');
    await expectRefusal(await api('POST', `/${firstId}/replay`, intruder), 403, 'forbidden');
    await expectRefusal(await api('DELETE', `/${firstId}`, intruder), 403, 'forbidden');
    // In its own app, the id names nothing.
    const own = await api('GET', '', intruder, otherApp);
    expect(own.status).toBe(200);
    expect(((await own.json()) as { result: unknown[] }).result).toEqual([]);
    await expectRefusal(
      await api('POST', `/${firstId}/replay`, intruder, otherApp),
      404,
      'dead_letter_not_found',
    );
    await expectRefusal(await api('DELETE', `/${firstId}`, intruder, otherApp), 404, 'dead_letter_not_found');

    const user = await stack.token('pat');
    await expectRefusal(await api('GET', '', user), 403, 'forbidden');
    await expectRefusal(await api('POST', `/${firstId}/replay`, user), 403, 'forbidden');
    await expectRefusal(await api('DELETE', `/${firstId}`, user), 403, 'forbidden');
    await expectRefusal(await api('GET', '', ''), 401, 'unauthorized');
    await expectRefusal(await api('POST', '/not-a-number/replay', admin), 400, 'invalid_request');

    const service = await signServiceToken(stack.config.jwt, 'ops', 600);
    const seen = await api('GET', '', service);
    expect(((await seen.json()) as { result: LetterView[] }).result.map((l) => l.id)).toEqual([firstId]);
    expect(poisonCopies()).toEqual([]);
  });

  let secondId: string;

  it('replayed while the store still refuses it, it comes back as a new dead letter', {
    timeout: 30_000,
  }, async () => {
    const told = pat.received.filter(errors).length;
    const replay = await api('POST', `/${firstId}/replay`, admin);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ success: true, result: { id: firstId, replayed: true } });
    await pat.waitForCount(errors, told + 1);
    const [letter] = await lettersWhen(1);
    expect(BigInt(letter!.id)).toBeGreaterThan(BigInt(firstId));
    expect(letter!.payload_preview).toBe(JSON.stringify(poison));
    secondId = letter!.id;
  });

  it('once the cause is fixed, a replay is stored and delivered once; replaying again is harmless', {
    timeout: 30_000,
  }, async () => {
    await refuseMarker(false);
    const replays = await Promise.all([
      api('POST', `/${secondId}/replay`, admin),
      api('POST', `/${secondId}/replay`, admin),
    ]);
    expect(replays.map((r) => r.status).sort()).toEqual([200, 404]);
    await expectRefusal(replays.find((r) => r.status === 404)!, 404, 'dead_letter_not_found');
    await quinn.waitFor((m) => m.payload.message_id === poison.message_id);
    await expectRefusal(await api('POST', `/${secondId}/replay`, admin), 404, 'dead_letter_not_found');
    await expectRefusal(await api('POST', `/${firstId}/replay`, admin), 404, 'dead_letter_not_found');

    // A message after it in the same conversation arrives after it: nothing else is on its way.
    await pat.publish(stack.outgoing('pat', 'quinn'), { text: 'after the replay' });
    await quinn.waitFor((m) => m.payload.text === 'after the replay');
    expect(poisonCopies()).toHaveLength(1);
    const { rows } = await stack.sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM messages WHERE app_id = $1 AND message_id = $2',
      [stack.app, poison.message_id],
    );
    expect(rows[0]!.n).toBe(1);
    expect((await list()).result).toEqual([]);
  });

  it('letters are paged and can be dropped, once', { timeout: 30_000 }, async () => {
    await refuseMarker(true);
    const dropped: string[] = [randomUUID(), randomUUID()];
    for (const id of dropped)
      await pat.publish(stack.outgoing('pat', 'quinn'), { ...poison, message_id: id });
    const letters = await lettersWhen(2);

    const first = await list('?limit=1');
    expect(first.result.map((l) => l.id)).toEqual([letters[0]!.id]);
    expect(first.next_after).toBe(letters[0]!.id);
    const second = await list(`?limit=1&after=${first.next_after}`);
    expect(second.result.map((l) => l.id)).toEqual([letters[1]!.id]);
    expect(second.next_after).toBeNull();

    for (const letter of letters) {
      const drop = await api('DELETE', `/${letter.id}`, admin);
      expect(drop.status).toBe(200);
      expect(await drop.json()).toEqual({ success: true, result: { id: letter.id, dropped: true } });
      await expectRefusal(await api('DELETE', `/${letter.id}`, admin), 404, 'dead_letter_not_found');
      await expectRefusal(await api('POST', `/${letter.id}/replay`, admin), 404, 'dead_letter_not_found');
    }
    expect((await list()).result).toEqual([]);
    expect(quinn.received.some((m) => dropped.includes(String(m.payload.message_id)))).toBe(false);
  });

  it('the CLI lists, replays and drops them through the running server', { timeout: 30_000 }, async () => {
    const cli = (args: string[]) => {
      const command = parseCommand([
        'dead-letters',
        ...args,
        '--app',
        stack.app,
        '--url',
        `${stack.router!.httpUrl}/api`,
      ]);
      return runDeadLetters(command as DeadLettersCommand, stack.config);
    };
    await pat.publish(stack.outgoing('pat', 'quinn'), { ...poison, message_id: randomUUID() });
    const [letter] = await lettersWhen(1);

    const listed = await cli(['list']);
    expect(listed.ok).toBe(true);
    expect(listed.lines).toHaveLength(1);
    expect(listed.lines[0]).toMatch(
      new RegExp(
        `^${letter!.id}\\t.*${stack.outgoing('pat', 'quinn')}\\tattempts=2\\t.*test trigger.*POISON-MARKER`,
      ),
    );

    // Still refused: the replay comes back as a new letter, which is then dropped.
    expect(await cli(['replay', letter!.id])).toEqual({
      ok: true,
      lines: [`dead letter ${letter!.id} replayed`],
    });
    const [again] = await vi.waitFor(
      async () => {
        const { result } = await list();
        if (result[0]?.id === letter!.id || result.length !== 1) throw new Error('not back yet');
        return result;
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(await cli(['drop', again!.id])).toEqual({ ok: true, lines: [`dead letter ${again!.id} dropped`] });
    const twice = await cli(['drop', again!.id]);
    expect(twice.ok).toBe(false);
    expect(twice.lines[0]).toMatch(/^dead_letter_not_found: /);
    expect(await cli(['list'])).toEqual({ ok: true, lines: ['no dead letters'] });
    expect(() => parseCommand(['dead-letters', 'replay', 'x', '--app', stack.app])).toThrow(
      /positive whole number/,
    );
  });

  it.runIf(engine === 'rabbitmq')(
    'a letter in <prefix>.dead twice (a crash between insert and ack) is kept once; one without an id is kept too',
    {
      timeout: 30_000,
    },
    async () => {
      const dead = `${stack.config.router.queuePrefix}.dead`;
      const routingKey = stack.outgoing('pat', 'quinn').replaceAll('/', '.');
      const headers = {
        'x-mercurio-attempts': 2,
        'x-mercurio-error': 'set aside by the test',
        'x-mercurio-failed-at': new Date().toISOString(),
      };
      await withChannel(async (channel) => {
        const body = (text: string) => Buffer.from(JSON.stringify({ text }));
        const messageId = randomUUID();
        channel.publish(dead, routingKey, body('twice'), { persistent: true, messageId, headers });
        channel.publish(dead, routingKey, body('twice'), { persistent: true, messageId, headers });
        channel.publish(dead, routingKey, body('no id'), { persistent: true, headers });
        await channel.waitForConfirms();
      });
      // Acked only after the insert: an empty queue means every insert is done.
      await vi.waitFor(
        async () => {
          if ((await deadQueueDepth()) !== 0) throw new Error('letters still in the queue');
        },
        { timeout: 15_000, interval: 100 },
      );
      const letters = (await list()).result;
      expect(letters.map((l) => JSON.parse(l.payload_preview).text).sort()).toEqual(['no id', 'twice']);
      expect(letters[0]).toMatchObject({ sender: 'pat', attempts: 2, error: 'set aside by the test' });
      for (const letter of letters) expect((await api('DELETE', `/${letter.id}`, admin)).status).toBe(200);
    },
  );

  async function withChannel<T>(use: (channel: amqp.ConfirmChannel) => Promise<T>): Promise<T> {
    const url = new URL(services().amqpUrl);
    const connection = await amqp.connect({
      hostname: url.hostname,
      port: Number(url.port),
      username: 'dead-letters-test',
      password: await signServiceToken(stack.config.jwt, 'dead-letters-test', 600),
    });
    try {
      return await use(await connection.createConfirmChannel());
    } finally {
      await connection.close().catch(() => {});
    }
  }

  /**
   * Letters still in RabbitMQ's `<queuePrefix>.dead`, ready or being moved (unacked): the router
   * acks a letter only after it is in the table.
   */
  async function deadQueueDepth(): Promise<number> {
    const queue = `${stack.config.router.queuePrefix}.dead`;
    const { stdout } = await run(services().rabbitmqctl, [
      'list_queues',
      '-q',
      '--no-table-headers',
      'name',
      'messages',
    ]);
    const line = stdout.split('\n').find((row) => row.split(/\s+/)[0] === queue);
    if (!line) throw new Error(`${queue} not found`);
    return Number(line.split(/\s+/)[1]);
  }
});
