import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '@mercurio/protocol';
import { describe, expect, it } from 'vitest';
import { renderErrorDocs } from '../src/http/error-docs.js';

const DOC = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url));

describe('docs/errors.md', () => {
  it('is in sync with the error catalogue (MERCURIO_UPDATE_DOCS=1 regenerates it)', async () => {
    const expected = renderErrorDocs();
    if (process.env.MERCURIO_UPDATE_DOCS === '1') await writeFile(DOC, expected);
    const actual = await readFile(DOC, 'utf8').catch(() => '');
    expect(actual).toBe(expected);
    for (const code of Object.keys(ERROR_CODES))
      expect(actual).toMatch(new RegExp(`^\\| \`${code}\` +\\|`, 'm'));
  });
});
