import { userScopes } from '@mercurio/protocol';
import type { FastifyInstance } from 'fastify';
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signServiceToken } from '../src/auth/tokens.js';
import { TestClient } from './support/mqtt-client.js';
import { services } from './support/services.js';
import { TestStack } from './support/stack.js';

describe('HTTP API: tokens, errors, OpenAPI', () => {
  const stack = new TestStack('http-auth');
  let api: FastifyInstance;
  let alice: string;
  const key = () => new TextEncoder().encode(stack.config.jwt.secret);
  const base = (path: string) => `/api/${stack.app}${path}`;
  const sign = (claims: Record<string, unknown>, options: { alg?: string; secret?: Uint8Array } = {}) =>
    new SignJWT({ app_id: stack.app, tiledesk_api_roles: 'user', ...claims })
      .setProtectedHeader({ alg: options.alg ?? 'HS256' })
      .sign(options.secret ?? key());

  beforeAll(async () => {
    api = await stack.http();
    alice = await stack.token('alice');
  });
  afterAll(() => stack.close());

  const conversations = (authorization?: string, url = base('/alice/conversations')) =>
    api.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });

  it('accepts the raw token (Chat21) and a Bearer token', async () => {
    for (const header of [alice, `Bearer ${alice}`, `JWT ${alice}`]) {
      const res = await conversations(header);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ success: true, result: [] });
    }
  });

  it('refuses a missing, unsigned, badly signed, expired, wrong-audience or alg-none token as Chat21 does (403)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = { sub: 'alice', aud: ['rabbitmq', 'alice'], exp: now + 600 };
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ ...good, app_id: stack.app }),
    ).toString('base64url')}.`;
    const cases: [string, string | undefined, string][] = [
      ['missing', undefined, 'unauthorized'],
      ['garbage', 'not-a-jwt', 'unauthorized'],
      ['alg none', none, 'unauthorized'],
      [
        'other secret',
        await sign(good, { secret: new TextEncoder().encode('x'.repeat(40)) }),
        'unauthorized',
      ],
      ['HS512', await sign(good, { alg: 'HS512' }), 'unauthorized'],
      ['expired', await sign({ ...good, exp: now - 10 }), 'token_expired'],
      ['no exp', await sign({ sub: 'alice', aud: ['rabbitmq'] }), 'unauthorized'],
      ['wrong audience', await sign({ ...good, aud: ['someone-else'] }), 'unauthorized'],
      ['no sub', await sign({ aud: ['rabbitmq'], exp: now + 600 }), 'unauthorized'],
    ];
    for (const [name, token, code] of cases) {
      const res = await conversations(token);
      expect(res.statusCode, name).toBe(403);
      expect(res.json(), name).toEqual({ success: false, msg: 'Unauthorized.' });
      expect(res.headers['x-mercurio-error'], name).toBe(code);
    }
  });

  it('answers 401 with {err: {code}} on Mercurio routes', async () => {
    const res = await api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}/users/alice/conversations`,
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ success: false, err: { code: 'unauthorized' } });
  });

  it('ignores query-string tokens unless enabled', async () => {
    for (const name of ['jwt', 'JWT', 'token']) {
      expect(
        (await conversations(undefined, `${base('/alice/conversations')}?${name}=${alice}`)).statusCode,
      ).toBe(403);
    }
    const withQuery = await stack.http({ queryTokens: true });
    for (const name of ['jwt', 'JWT', 'token']) {
      const res = await withQuery.inject({
        method: 'GET',
        url: `${base('/alice/conversations')}?${name}=${alice}`,
      });
      expect(res.statusCode, name).toBe(200);
    }
  });

  it("refuses another user's data (401 as Chat21's authorize) and another app's", async () => {
    const res = await conversations(alice, base('/bob/conversations'));
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ success: false, code: 'forbidden' });
    const otherApp = await stack.token('alice');
    const elsewhere = await conversations(otherApp, '/api/other-app/alice/conversations');
    expect(elsewhere.statusCode).toBe(401);
    const ours = await api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}/users/bob/conversations`,
      headers: { authorization: alice },
    });
    expect(ours.statusCode).toBe(403);
    expect(ours.json()).toMatchObject({ err: { code: 'forbidden' } });
  });

  it('lets admins and service tokens act for other users', async () => {
    expect((await conversations(await stack.adminToken(), base('/bob/conversations'))).statusCode).toBe(200);
    const service = await signServiceToken(stack.config.jwt, 'tiledesk', 600);
    expect((await conversations(service, base('/bob/conversations'))).statusCode).toBe(200);
  });

  it('answers malformed requests with 4xx and a code, never 500', async () => {
    const auth = { authorization: alice, 'content-type': 'application/json' };
    const post = (url: string, payload: string, headers: Record<string, string> = auth) =>
      api.inject({ method: 'POST', url, payload, headers });
    const cases: [string, Awaited<ReturnType<typeof post>>, number, string][] = [
      ['invalid JSON', await post(base('/messages'), '{"text": '), 400, 'invalid_json'],
      ['JSON array', await post(base('/messages'), '[1,2]'), 405, 'invalid_request'],
      ['JSON string', await post(base('/messages'), '"hi"'), 405, 'invalid_request'],
      ['no body', await post(base('/messages'), ''), 405, 'invalid_request'],
      [
        'wrong types',
        await post(
          base('/messages'),
          JSON.stringify({ sender_fullname: 1, recipient_id: 'b', recipient_fullname: 'B' }),
        ),
        405,
        'invalid_request',
      ],
      [
        'bad recipient id',
        await post(
          base('/messages'),
          JSON.stringify({ sender_fullname: 'A', recipient_id: 'a.b#', recipient_fullname: 'B' }),
        ),
        405,
        'invalid_request',
      ],
      [
        'text/plain',
        await post(base('/messages'), 'hello', { authorization: alice, 'content-type': 'text/plain' }),
        415,
        'unsupported_media_type',
      ],
      [
        'too large',
        await post(base('/messages'), JSON.stringify({ text: 'x'.repeat(300 * 1024) })),
        413,
        'payload_too_large',
      ],
      [
        'group: not an object',
        await post(base('/groups'), '{"group_name": "g", "group_members": 3}'),
        405,
        'invalid_request',
      ],
      [
        'tokens: bad ttl',
        await post(
          `/api/v1/apps/${stack.app}/tokens`,
          JSON.stringify({ user_id: 'x', ttl_seconds: 'soon' }),
          {
            ...auth,
            authorization: await stack.adminToken(),
          },
        ),
        400,
        'invalid_request',
      ],
    ];
    for (const [name, res, status, code] of cases) {
      expect(res.statusCode, name).toBe(status);
      expect(res.headers['x-mercurio-error'], name).toBe(code);
    }
    const missing = await post(
      base('/messages'),
      JSON.stringify({ recipient_id: 'bob', recipient_fullname: 'Bob' }),
    );
    expect(missing.statusCode).toBe(405);
    expect(missing.body).toBe('Sender Fullname is mandatory');
    const ours = await api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}/users/alice/conversations?limit=0`,
      headers: { authorization: alice },
    });
    expect(ours.statusCode).toBe(400);
    expect(ours.json()).toMatchObject({ success: false, err: { code: 'invalid_request' } });
    const badParam = await conversations(alice, base('/al*ce/conversations'));
    expect(badParam.statusCode).toBe(400);
    const cursor = await api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}/users/alice/conversations?cursor=nonsense`,
      headers: { authorization: alice },
    });
    expect(cursor.statusCode).toBe(400);
  });

  it('answers an unknown route with 404 not_found', async () => {
    const res = await api.inject({
      method: 'GET',
      url: '/api/nothing/here/at/all/really',
      headers: { authorization: alice },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ err: { code: 'not_found' } });
  });

  it('serves getInfo and the OpenAPI document (without a token)', async () => {
    const info = await api.inject({
      method: 'GET',
      url: base('/getInfo'),
      headers: { authorization: alice },
    });
    expect(info.json()).toEqual({ v: expect.any(String) });
    const res = await api.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/{appid}/groups',
        '/{appid}/messages',
        '/{appid}/{userid}/conversations/{convid}/messages',
        '/v1/apps/{appid}/users/{userid}/search',
        '/v1/apps/{appid}/tokens',
      ]),
    );
  });

  describe('POST /v1/apps/:appid/tokens', () => {
    const issue = async (authorization: string, body: unknown, app = stack.app) =>
      api.inject({
        method: 'POST',
        url: `/api/v1/apps/${app}/tokens`,
        headers: { authorization, 'content-type': 'application/json' },
        payload: JSON.stringify(body),
      });

    it('issues a Chat21-scoped user token the broker and the API accept, with the asked lifetime', async () => {
      const res = await issue(await stack.adminToken(), {
        user_id: 'zed',
        ttl_seconds: 120,
        fullname: 'Zed Z',
      });
      expect(res.statusCode).toBe(200);
      const { result } = res.json();
      expect(result).toMatchObject({
        userid: 'zed',
        fullname: 'Zed Z',
        role: 'user',
        token: expect.any(String),
      });
      const claims = decodeJwt(result.token);
      expect(claims).toMatchObject({
        sub: 'zed',
        app_id: stack.app,
        tiledesk_api_roles: 'user',
        aud: ['rabbitmq', 'zed'],
      });
      expect(claims.scope).toEqual(userScopes(stack.app, 'zed'));
      expect(claims.exp! - claims.iat!).toBe(120);
      expect(result.expires_at).toBe(claims.exp);
      const mqtt = await TestClient.connect(services().wsUrl, result.token, { clientId: 'zed-1' });
      await mqtt.end();
      const own = await conversations(result.token, base('/zed/conversations'));
      expect(own.statusCode).toBe(200);
      const defaults = decodeJwt(
        (await issue(await stack.adminToken(), { user_id: 'zed' })).json().result.token,
      );
      expect(defaults.exp! - defaults.iat!).toBe(stack.config.http.userTokenTtlSeconds);
    });

    it('is admin-only, for the admin’s app, refuses system and lifetimes over the maximum', async () => {
      const user = await issue(alice, { user_id: 'alice', role: 'admin' });
      expect(user.statusCode).toBe(403);
      expect(user.json()).toMatchObject({ err: { code: 'forbidden' } });
      const otherApp = await issue(await stack.adminToken(), { user_id: 'zed' }, 'other-app');
      expect(otherApp.statusCode).toBe(403);
      const system = await issue(await stack.adminToken(), { user_id: 'system' });
      expect(system.statusCode).toBe(400);
      expect(system.json()).toMatchObject({ err: { code: 'reserved_id' } });
      const tooLong = await issue(await stack.adminToken(), { user_id: 'zed', ttl_seconds: 10 ** 9 });
      expect(tooLong.statusCode).toBe(400);
      expect(tooLong.json()).toMatchObject({ err: { code: 'invalid_request' } });
      const badId = await issue(await stack.adminToken(), { user_id: 'a#b' });
      expect(badId.statusCode).toBe(400);
    });
  });
});
