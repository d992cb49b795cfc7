import { parseArgs } from 'node:util';
import { checkAppId, checkId } from '@mercurio/protocol';
import { ConfigError } from './errors.js';

type Scope =
  | { scope: 'app' | 'direct' | 'group' }
  | { scope: 'conversation'; conversation: { group: string } | { direct: [string, string] } };
type HoldTarget = { user: string } | { conversation: { group: string } | { direct: [string, string] } };

/** `mercurio retention …` and `mercurio user erase|export …` (docs/data-policies.md). */
export type PolicyCommand = { app: string; url?: string } & (
  | { name: 'retention'; action: 'show' | 'run' }
  | { name: 'retention'; action: 'set'; scope: Scope; keepDays: number | null }
  | { name: 'retention'; action: 'clear'; scope: Scope }
  | { name: 'retention'; action: 'hold' | 'release'; target: HoldTarget; reason?: string }
  | { name: 'user'; action: 'erase'; user: string; mode: 'tombstone' | 'remove' }
  | { name: 'user'; action: 'export'; user: string }
);

export const POLICY_USAGE = `  mercurio retention show|run --app <app> [--url <api base url>]
  mercurio retention set <scope> <days|forever> --app <app>
  mercurio retention clear <scope> --app <app>
                                                    scope: app, direct, group, group:<group id>,
                                                    direct:<user>,<user> (one conversation)
  mercurio retention hold|release user:<id>|group:<id>|direct:<user>,<user> [--reason <text>] --app <app>
  mercurio user erase <user> --app <app> [--remove]  tombstone (or remove) their messages, drop the rest
  mercurio user export <user> --app <app>           their data as JSON Lines on stdout`;

const id = (value: string | undefined, what: string) => {
  const check = checkId(value, what);
  if (!check.ok) throw new ConfigError(`${what}: ${check.reason}`);
  return check.value;
};

function conversationOf(text: string): { group: string } | { direct: [string, string] } | undefined {
  if (text.startsWith('group:')) return { group: id(text.slice(6), 'group id') };
  if (text.startsWith('direct:')) {
    const users = text.slice(7).split(',');
    if (users.length !== 2) throw new ConfigError('direct:<user>,<user> names exactly two users');
    return { direct: [id(users[0], 'user id'), id(users[1], 'user id')] };
  }
  return undefined;
}

function scopeOf(text: string | undefined): Scope {
  if (text === 'app' || text === 'direct' || text === 'group') return { scope: text };
  const conversation = text === undefined ? undefined : conversationOf(text);
  if (!conversation)
    throw new ConfigError('scope: say app, direct, group, group:<id> or direct:<user>,<user>');
  return { scope: 'conversation', conversation };
}

export function parsePolicyCommand(name: 'retention' | 'user', args: readonly string[]): PolicyCommand {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      app: { type: 'string' },
      url: { type: 'string' },
      reason: { type: 'string' },
      remove: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const appCheck = checkAppId(values.app);
  if (!appCheck.ok) throw new ConfigError(`--app: ${appCheck.reason}`);
  const common = { app: appCheck.value, ...(values.url === undefined ? {} : { url: values.url }) };
  const [action, first, second, ...extra] = positionals;
  if (extra.length > 0) throw new ConfigError(`${name}: unexpected "${extra.join(' ')}"`);
  if (name === 'user') {
    const user = id(first, 'user id');
    if (second !== undefined) throw new ConfigError(`user ${action}: unexpected "${second}"`);
    if (action === 'erase')
      return { ...common, name, action, user, mode: values.remove ? 'remove' : 'tombstone' };
    if (action === 'export') return { ...common, name, action, user };
    throw new ConfigError('user: say erase <user> or export <user>');
  }
  switch (action) {
    case 'show':
    case 'run':
      if (first !== undefined) throw new ConfigError(`retention ${action} takes no argument`);
      return { ...common, name, action };
    case 'set': {
      const scope = scopeOf(first);
      const keepDays = second === 'forever' ? null : Number(second);
      if (keepDays !== null && (!Number.isInteger(keepDays) || keepDays < 1 || keepDays > 36_500))
        throw new ConfigError('retention set: days must be a whole number from 1 to 36500, or forever');
      return { ...common, name, action, scope, keepDays };
    }
    case 'clear':
      if (second !== undefined) throw new ConfigError(`retention clear: unexpected "${second}"`);
      return { ...common, name, action, scope: scopeOf(first) };
    case 'hold':
    case 'release': {
      if (second !== undefined) throw new ConfigError(`retention ${action}: unexpected "${second}"`);
      const target: HoldTarget | undefined = first?.startsWith('user:')
        ? { user: id(first.slice(5), 'user id') }
        : first === undefined
          ? undefined
          : (() => {
              const conversation = conversationOf(first);
              return conversation ? { conversation } : undefined;
            })();
      if (!target)
        throw new ConfigError(`retention ${action}: say user:<id>, group:<id> or direct:<user>,<user>`);
      return {
        ...common,
        name,
        action,
        target,
        ...(values.reason === undefined ? {} : { reason: values.reason }),
      };
    }
    default:
      throw new ConfigError('retention: say show, set, clear, hold, release or run');
  }
}
