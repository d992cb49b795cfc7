import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/auth/tokens.js';
import { ACL_CASES, type AclContext, type Outcome, signToken } from './support/acl-cases.js';
import { type BrokerKind, type BrokerUnderTest, embeddedBroker } from './support/brokers.js';
import { TestClient } from './support/mqtt-client.js';
import { services } from './support/services.js';

/** How a refusal at CONNECT looks: CONNACK with an error code (TCP) or a socket closed before it (RabbitMQ Web-MQTT). */
const REFUSED_AT_CONNECT =
  /Not authorized|Bad username or password|closed before CONNACK|ended by the other party/i;

type Transport = 'tcp' | 'ws';

/**
 * The same table of cases (support/acl-cases.ts) against RabbitMQ with its OAuth2 plugin and
 * against the embedded broker, over TCP and WebSocket: the embedded broker must refuse exactly
 * what RabbitMQ refuses.
 */
for (const kind of ['rabbitmq', 'embedded'] as const satisfies readonly BrokerKind[]) {
  describe(`broker refusals: ${kind}`, () => {
    let urls: Record<Transport, string>;
    let embedded: BrokerUnderTest | undefined;
    const clients: TestClient[] = [];

    beforeAll(async () => {
      if (kind === 'embedded') {
        embedded = await embeddedBroker();
        urls = embedded.urls;
      } else {
        urls = { tcp: services().mqttUrl, ws: services().wsUrl };
      }
    });

    afterAll(async () => {
      await Promise.allSettled(clients.map((client) => client.mqtt.endAsync(true)));
      await embedded?.close();
    });

    for (const transport of ['tcp', 'ws'] as const) {
      describe(`over ${transport}`, () => {
        const app = `acl-${kind}-${transport}-${randomUUID().slice(0, 8)}`;
        const jwt = () => ({ secret: services().jwtSecret, resourceServerId: 'rabbitmq' });
        const connect = async (token: string, options = {}) => {
          const client = await TestClient.connect(urls[transport], token, options);
          clients.push(client);
          return client;
        };
        const ctx: AclContext = {
          app,
          topic: (...levels) => ['apps', app, ...levels].join('/'),
          token: (user, ttlSeconds = 3600) => signUserToken(jwt(), { app, user, ttlSeconds }),
          sign: (claims, options) => signToken(claims, services().jwtSecret, options),
          async watch(user) {
            const watcher = await connect(await ctx.token(user), {
              clientId: `${user}-watch-${randomUUID().slice(0, 8)}`,
            });
            await watcher.subscribe(ctx.topic('users', user, '#'));
            return watcher;
          },
        };

        for (const aclCase of ACL_CASES) {
          const expected: Outcome =
            typeof aclCase.expected === 'string' ? aclCase.expected : aclCase.expected[kind];
          const title = `${aclCase.name}: ${expected}${aclCase.difference ? ' (known difference)' : ''}`;

          it.concurrent(title, async () => {
            const token = await (aclCase.token ?? ((c: AclContext) => c.token(aclCase.user)))(ctx);
            const options = {
              clientId: `${aclCase.user}-${randomUUID().slice(0, 8)}`,
              ...aclCase.connectOptions?.(ctx),
            };
            if (expected === 'refused at connect') {
              await expect(connect(token, options)).rejects.toThrow(REFUSED_AT_CONNECT);
              return;
            }
            const watcher = aclCase.watch === undefined ? undefined : await ctx.watch(aclCase.watch);
            const client = await connect(token, options);
            if (expected === 'closed') {
              aclCase.act?.(client, ctx).catch(() => {});
              await client.waitForClose(8000);
            } else {
              await aclCase.act?.(client, ctx);
              if (!aclCase.closesItself) {
                await sleep(300);
                expect(client.closed, 'the connection stayed open').toBe(false);
              }
            }
            await aclCase.check?.(client, ctx, watcher);
          });
        }
      });
    }
  });
}
