import { type Config, STRONG_SECRET_LENGTH } from './config.js';
import type { Engine } from './engine.js';

/** What a person starting Mercurio needs to know: where it listens and how to get in. */
export function banner(config: Config, engine: Engine, secretFile: string | undefined): string {
  const api = engine.httpUrl ? `${engine.httpUrl}${config.http.basePath}` : undefined;
  const lines = [
    '',
    `Mercurio is running (${config.rabbitmq ? 'RabbitMQ' : 'embedded broker'}, ${config.postgres ? 'PostgreSQL' : `PGlite in ${config.dataDir}`})`,
  ];
  if (engine.webAppUrl) {
    const signIn = config.http.devLogin
      ? 'dev mode: sign in with any user name; a second browser window as someone else to chat'
      : 'signs in with a token from your application (/#token=…)';
    lines.push(`  Web chat app         ${engine.webAppUrl}   (${signIn})`);
  } else if (engine.httpUrl) {
    lines.push('  Web chat app         not built: npm run build -w @mercurio/web (npm start builds it)');
  }
  if (api)
    lines.push(
      `  HTTP API             ${api}   (OpenAPI: ${api}/openapi.json, metrics: ${engine.httpUrl}/metrics)`,
    );
  if (engine.mqtt) {
    lines.push(`  MQTT over TCP        ${engine.mqtt.tcpUrl}`);
    if (engine.mqtt.wsUrl) lines.push(`  MQTT over WebSocket  ${engine.mqtt.wsUrl}`);
  }
  lines.push(
    '  a client token       npm run token -- --app tilechat --user alice   (MQTT password; any username)',
  );
  if (config.dev && api) {
    lines.push(
      `  or, dev only         curl -s -X POST ${api}/v1/apps/tilechat/dev/login -H 'content-type: application/json' -d '{"user_id":"alice"}'`,
      '  DEV MODE: the login above gives anyone a token for any user. Never use MERCURIO_DEV in production.',
    );
  }
  if (config.jwt.weakSecret) {
    lines.push(
      `  WEAK JWT SECRET      MERCURIO_JWT_SECRET has ${config.jwt.secret.length} characters (fewer than ${STRONG_SECRET_LENGTH}), allowed by`,
      '                       MERCURIO_JWT_ALLOW_WEAK_SECRET: whoever guesses it can sign tokens for any user.',
      '                       Move to a random secret of 32+ characters as soon as your clients allow it.',
    );
  }
  if (secretFile) lines.push(`  JWT secret           generated for development, kept in ${secretFile}`);
  lines.push('  then subscribe to apps/tilechat/users/alice/# and publish {"text":"hi"} to');
  lines.push('  apps/tilechat/outgoing/users/alice/messages/bob/outgoing', '');
  return lines.join('\n');
}
