import { signUserToken } from './auth/tokens.js';
import type { Config } from './config.js';
import { type CommandOutput, defaultBaseUrl } from './dead-letters-cli.js';
import type { PolicyCommand } from './policies-cli-args.js';

/**
 * `mercurio retention …` and `mercurio user erase|export` call the admin routes of a running
 * server (docs/data-policies.md) with a short-lived admin token of the app, signed with
 * MERCURIO_JWT_SECRET, so that a purge or an erasure runs where the blob store and the database
 * are, and each is audited under the actor `mercurio-cli`.
 */
export async function runPolicyCommand(
  command: PolicyCommand,
  config: Pick<Config, 'http' | 'jwt'>,
  /** Where an export's JSON Lines go, as they arrive. */
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<CommandOutput> {
  const base = (command.url ?? defaultBaseUrl(config.http)).replace(/\/$/, '');
  const token = await signUserToken(config.jwt, {
    app: command.app,
    user: 'mercurio-cli',
    ttlSeconds: 300,
    role: 'admin',
  });
  const root = `${base}/v1/apps/${encodeURIComponent(command.app)}`;
  const request = requestOf(command, root);
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
    });
  } catch (error) {
    const reason =
      error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    return { ok: false, lines: [`cannot reach ${base} (${reason}); is the server running? (--url)`] };
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { err?: { code?: string; message?: string } };
    return {
      ok: false,
      lines: [`${body.err?.code ?? response.status}: ${body.err?.message ?? response.statusText}`],
    };
  }
  if (command.name === 'user' && command.action === 'export') {
    let complete = false;
    let tail = '';
    for await (const chunk of response.body ?? []) {
      await write(chunk);
      tail = (tail + Buffer.from(chunk).toString('utf8')).slice(-200);
    }
    complete = /"kind":"end"/.test(tail);
    return complete
      ? { ok: true, lines: [] }
      : { ok: false, lines: ['the export ended early (no closing "end" line): run it again'] };
  }
  const body = (await response.json()) as { result: unknown };
  return { ok: true, lines: [JSON.stringify(body.result, null, 2)] };
}

function requestOf(command: PolicyCommand, root: string): { method: string; url: string; body?: unknown } {
  if (command.name === 'user') {
    const user = `${root}/users/${encodeURIComponent(command.user)}`;
    return command.action === 'erase'
      ? { method: 'POST', url: `${user}/erase`, body: { mode: command.mode } }
      : { method: 'GET', url: `${user}/export` };
  }
  switch (command.action) {
    case 'show':
      return { method: 'GET', url: `${root}/retention` };
    case 'run':
      return { method: 'POST', url: `${root}/retention/run` };
    case 'set':
      return {
        method: 'PUT',
        url: `${root}/retention`,
        body: { ...command.scope, keep_days: command.keepDays },
      };
    case 'clear':
      return { method: 'DELETE', url: `${root}/retention`, body: command.scope };
    case 'hold':
    case 'release':
      return {
        method: command.action === 'hold' ? 'PUT' : 'DELETE',
        url: `${root}/legal-holds`,
        body: { ...command.target, ...(command.reason === undefined ? {} : { reason: command.reason }) },
      };
  }
}
