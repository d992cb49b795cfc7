import { signUserToken } from './auth/tokens.js';
import type { DeadLettersCommand } from './cli.js';
import type { Config } from './config.js';

/** What the command prints, and whether it succeeded. */
export interface CommandOutput {
  lines: string[];
  ok: boolean;
}

/**
 * `mercurio dead-letters …` calls the admin routes of a running server (docs/api.md, "Dead
 * letters") with a short-lived admin token of the app, signed with MERCURIO_JWT_SECRET: a replay has
 * to go through that server's bus, which on the embedded engine lives only in its process.
 */
export async function runDeadLetters(
  command: DeadLettersCommand,
  config: Pick<Config, 'http' | 'jwt'>,
): Promise<CommandOutput> {
  const base = command.url ?? defaultBaseUrl(config.http);
  const token = await signUserToken(config.jwt, {
    app: command.app,
    user: 'mercurio-cli',
    ttlSeconds: 300,
    role: 'admin',
  });
  const root = `${base.replace(/\/$/, '')}/v1/apps/${encodeURIComponent(command.app)}/dead-letters`;
  const request =
    command.action === 'list'
      ? {
          method: 'GET',
          url: `${root}?limit=${command.limit}${command.after ? `&after=${command.after}` : ''}`,
        }
      : command.action === 'replay'
        ? { method: 'POST', url: `${root}/${command.id}/replay` }
        : { method: 'DELETE', url: `${root}/${command.id}` };
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: { authorization: `Bearer ${token}` },
    });
  } catch (error) {
    const reason =
      error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error);
    return { ok: false, lines: [`cannot reach ${base} (${reason}); is the server running? (--url)`] };
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const err = (body.err ?? {}) as { code?: string; message?: string };
    return { ok: false, lines: [`${err.code ?? response.status}: ${err.message ?? response.statusText}`] };
  }
  if (command.action !== 'list') {
    return {
      ok: true,
      lines: [`dead letter ${command.id} ${command.action === 'replay' ? 'replayed' : 'dropped'}`],
    };
  }
  const letters = (body.result ?? []) as {
    id: string;
    topic: string;
    attempts: number;
    error: string;
    failed_at: number;
    payload_preview: string;
  }[];
  const lines = letters.map(
    (l) =>
      `${l.id}\t${new Date(l.failed_at).toISOString()}\t${l.topic}\tattempts=${l.attempts}\t${l.error}\t${l.payload_preview}`,
  );
  if (letters.length === 0) lines.push('no dead letters');
  if (typeof body.next_after === 'string') lines.push(`more: --after ${body.next_after}`);
  return { ok: true, lines };
}

/** The HTTP API this configuration serves (a wildcard listen address is reached on loopback). */
export function defaultBaseUrl(http: Config['http']): string {
  const host = http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host;
  const literal = host.includes(':') ? `[${host}]` : host;
  return `http://${literal}:${http.port}${http.basePath}`;
}
