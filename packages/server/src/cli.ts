import { parseArgs } from 'node:util';
import { checkAppId, checkId, userIdProblem } from '@mercurio/protocol';
import { ConfigError } from './errors.js';

export type Command =
  | { name: 'serve' | 'router' | 'api' }
  | { name: 'token'; app: string; user: string; ttlSeconds: number; admin: boolean; fullname?: string }
  | { name: 'help' };

export const USAGE = `usage:
  mercurio [serve]                                  run the router, the webhook worker and the HTTP API
  mercurio router                                   run only the router and the webhook worker
  mercurio api                                      run only the HTTP API
  mercurio token --app <app> --user <user> [--ttl <seconds>] [--admin] [--name <full name>]
                                                    print a client JWT signed with MERCURIO_JWT_SECRET
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
  throw new ConfigError(`unknown command "${name}"`);
}
