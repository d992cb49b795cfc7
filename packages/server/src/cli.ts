import { parseArgs } from 'node:util';
import { checkAppId, checkId, userIdProblem } from '@mercurio/protocol';
import { ConfigError } from './errors.js';
import { POLICY_USAGE, type PolicyCommand, parsePolicyCommand } from './policies-cli-args.js';

export type Command =
  | { name: 'serve' | 'router' | 'api' }
  | { name: 'token'; app: string; user: string; ttlSeconds: number; admin: boolean; fullname?: string }
  | DeadLettersCommand
  | PolicyCommand
  | { name: 'help' };

/** `mercurio dead-letters …`: the admin routes of a running server (docs/operations.md). */
export type DeadLettersCommand =
  | { name: 'dead-letters'; action: 'list'; app: string; url?: string; limit: number; after?: string }
  | { name: 'dead-letters'; action: 'replay' | 'drop'; app: string; url?: string; id: string };

export const USAGE = `usage:
  mercurio [serve]                                  run the router, the webhook worker and the HTTP API
  mercurio router                                   run only the router and the webhook worker
  mercurio api                                      run only the HTTP API
  mercurio token --app <app> --user <user> [--ttl <seconds>] [--admin] [--name <full name>]
                                                    print a client JWT signed with MERCURIO_JWT_SECRET
  mercurio dead-letters list --app <app> [--limit <n>] [--after <id>] [--url <api base url>]
  mercurio dead-letters replay|drop <id> --app <app> [--url <api base url>]
                                                    list, replay or drop the app's dead letters through
                                                    the HTTP API of a running server (default: the one
                                                    MERCURIO_HTTP_HOST/PORT/BASE_PATH describe)
${POLICY_USAGE}
settings are read from the environment: see docs/operations.md`;

/** Parses the command line; a bad argument is a ConfigError with a one-line message. */
export function parseCommand(argv: readonly string[]): Command {
  const [name = 'serve', ...rest] = argv;
  if (name === 'help' || name === '--help' || name === '-h') return { name: 'help' };
  if (name === 'serve' || name === 'router' || name === 'api') {
    if (rest.length > 0) throw new ConfigError(`${name} takes no arguments (got "${rest.join(' ')}")`);
    return { name };
  }
  if (name === 'token') {
    const { values } = parseArgs({
      args: [...rest],
      options: {
        app: { type: 'string' },
        user: { type: 'string' },
        ttl: { type: 'string', default: '86400' },
        admin: { type: 'boolean', default: false },
        name: { type: 'string' },
      },
      strict: true,
    });
    const app = checkAppId(values.app);
    if (!app.ok) throw new ConfigError(`--app: ${app.reason}`);
    const user = checkId(values.user, 'user id');
    if (!user.ok) throw new ConfigError(`--user: ${user.reason}`);
    const reserved = userIdProblem(user.value);
    if (reserved) throw new ConfigError(`--user: ${reserved}`);
    const ttlSeconds = Number(values.ttl);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1)
      throw new ConfigError('--ttl must be a whole number of seconds');
    const fullname = values.name?.trim();
    if (fullname !== undefined && (fullname === '' || fullname.length > 256 || /\p{Cc}/u.test(fullname)))
      throw new ConfigError('--name must be 1 to 256 characters on one line');
    return {
      name,
      app: app.value,
      user: user.value,
      ttlSeconds,
      admin: values.admin,
      ...(fullname === undefined ? {} : { fullname }),
    };
  }
  if (name === 'dead-letters') return parseDeadLetters(rest);
  if (name === 'retention' || name === 'user') return parsePolicyCommand(name, rest);
  throw new ConfigError(`unknown command "${name}"`);
}

function parseDeadLetters(args: readonly string[]): DeadLettersCommand {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      app: { type: 'string' },
      url: { type: 'string' },
      limit: { type: 'string', default: '50' },
      after: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const app = checkAppId(values.app);
  if (!app.ok) throw new ConfigError(`--app: ${app.reason}`);
  const url = values.url === undefined ? {} : { url: values.url };
  const [action, id, ...extra] = positionals;
  if (extra.length > 0) throw new ConfigError(`dead-letters: unexpected "${extra.join(' ')}"`);
  const letterId = (value: string | undefined, what: string) => {
    if (value === undefined || !/^[1-9][0-9]{0,17}$/.test(value))
      throw new ConfigError(`${what} must be a dead letter id (a positive whole number)`);
    return value;
  };
  if (action === 'list') {
    if (id !== undefined) throw new ConfigError('dead-letters list takes no id');
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      throw new ConfigError('--limit must be a whole number from 1 to 500');
    const after = values.after === undefined ? {} : { after: letterId(values.after, '--after') };
    return { name: 'dead-letters', action, app: app.value, limit, ...after, ...url };
  }
  if (action === 'replay' || action === 'drop')
    return {
      name: 'dead-letters',
      action,
      app: app.value,
      id: letterId(id, `dead-letters ${action} <id>`),
      ...url,
    };
  throw new ConfigError('dead-letters: say list, replay <id> or drop <id>');
}
