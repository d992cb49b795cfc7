import { describe, expect, it } from 'vitest';
import { parseCommand } from '../src/cli.js';

describe('mercurio retention / user commands', () => {
  it('parses every form', () => {
    expect(parseCommand(['retention', 'show', '--app', 'a1'])).toEqual({
      name: 'retention',
      action: 'show',
      app: 'a1',
    });
    expect(parseCommand(['retention', 'run', '--app', 'a1', '--url', 'http://h:1/api'])).toEqual({
      name: 'retention',
      action: 'run',
      app: 'a1',
      url: 'http://h:1/api',
    });
    expect(parseCommand(['retention', 'set', 'app', '30', '--app', 'a1'])).toMatchObject({
      action: 'set',
      scope: { scope: 'app' },
      keepDays: 30,
    });
    expect(parseCommand(['retention', 'set', 'group:group-x', 'forever', '--app', 'a1'])).toMatchObject({
      scope: { scope: 'conversation', conversation: { group: 'group-x' } },
      keepDays: null,
    });
    expect(parseCommand(['retention', 'clear', 'direct:al,bo', '--app', 'a1'])).toMatchObject({
      action: 'clear',
      scope: { scope: 'conversation', conversation: { direct: ['al', 'bo'] } },
    });
    expect(
      parseCommand(['retention', 'hold', 'user:carol', '--reason', 'case 42', '--app', 'a1']),
    ).toMatchObject({
      action: 'hold',
      target: { user: 'carol' },
      reason: 'case 42',
    });
    expect(parseCommand(['user', 'erase', 'carol', '--app', 'a1', '--remove'])).toMatchObject({
      name: 'user',
      action: 'erase',
      user: 'carol',
      mode: 'remove',
    });
    expect(parseCommand(['user', 'export', 'carol', '--app', 'a1'])).toMatchObject({
      action: 'export',
      user: 'carol',
    });
  });

  it('refuses what it cannot mean, with one line naming it', () => {
    const bad = [
      ['retention', 'set', 'app', '0', '--app', 'a1'],
      ['retention', 'set', 'app', '1.5', '--app', 'a1'],
      ['retention', 'set', 'app', 'never', '--app', 'a1'],
      ['retention', 'set', 'everything', '3', '--app', 'a1'],
      ['retention', 'set', 'direct:al', '3', '--app', 'a1'],
      ['retention', 'set', 'group:a/b', '3', '--app', 'a1'],
      ['retention', 'hold', 'carol', '--app', 'a1'],
      ['retention', 'show', 'extra', '--app', 'a1'],
      ['retention', 'shred', '--app', 'a1'],
      ['retention', 'show'],
      ['user', 'erase', '--app', 'a1'],
      ['user', 'erase', 'a b', '--app', 'a1'],
      ['user', 'wipe', 'carol', '--app', 'a1'],
      ['user', 'erase', 'carol', '--app', 'a1', '--force'],
    ];
    for (const argv of bad) expect(() => parseCommand(argv), argv.join(' ')).toThrow();
  });
});
