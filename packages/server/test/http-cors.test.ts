import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { TestStack } from './support/stack.js';

/** A page of the host application, on its own origin, calling the API with the user's token. */
describe('HTTP API: CORS for the configured origins', () => {
  const SHOP = 'https://shop.example.com';
  const stack = new TestStack('http-cors', {
    MERCURIO_HTTP_CORS_ORIGINS: `${SHOP}, https://admin.example.com`,
  });
  let api: FastifyInstance;
  let token: string;
  const url = () => `/api/v1/apps/${stack.app}/users/ada/conversations`;

  beforeAll(async () => {
    api = await stack.http();
    token = await stack.token('ada');
  });
  afterAll(() => stack.close());

  it('answers the preflight of an allowed origin, without asking it for a token', async () => {
    const res = await api.inject({
      method: 'OPTIONS',
      url: url(),
      headers: {
        origin: SHOP,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(SHOP);
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
  });

  it('lets the allowed origin read answers and refusals (with their error code)', async () => {
    const ok = await api.inject({
      method: 'GET',
      url: url(),
      headers: { origin: SHOP, authorization: token },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(SHOP);

    const refused = await api.inject({ method: 'GET', url: url(), headers: { origin: SHOP } });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe(SHOP);
    expect(String(refused.headers['access-control-expose-headers'])).toContain('x-mercurio-error');
  });

  it('gives any other origin nothing to read', async () => {
    const res = await api.inject({
      method: 'GET',
      url: url(),
      headers: { origin: 'https://evil.example.net', authorization: token },
    });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('is off unless configured, open to every origin in dev mode, and checked at start', () => {
    const env = { MERCURIO_JWT_SECRET: 'x'.repeat(40) };
    expect(loadConfig(env).http.corsOrigins).toEqual([]);
    expect(loadConfig({ ...env, MERCURIO_DEV: 'true' }).http.corsOrigins).toBe('*');
    expect(loadConfig({ ...env, MERCURIO_HTTP_CORS_ORIGINS: '*' }).http.corsOrigins).toBe('*');
    expect(() => loadConfig({ ...env, MERCURIO_HTTP_CORS_ORIGINS: 'shop.example.com/path' })).toThrow(
      /MERCURIO_HTTP_CORS_ORIGINS/,
    );
  });
});
