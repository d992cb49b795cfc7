import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests run against the workspace packages' TypeScript sources, never a stale dist/.
const resolve = {
  alias: {
    '@mercurio/protocol': fileURLToPath(new URL('./packages/protocol/src/index.ts', import.meta.url)),
    '@mercurio/sdk': fileURLToPath(new URL('./packages/sdk/src/index.ts', import.meta.url)),
  },
};

export default defineConfig({
  resolve,
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'protocol',
          include: ['packages/protocol/test/**/*.test.ts'],
        },
      },
      {
        resolve,
        test: {
          name: 'sdk',
          include: ['packages/sdk/test/**/*.test.ts'],
        },
      },
      {
        resolve,
        test: {
          name: 'server',
          include: ['packages/server/test/**/*.test.ts'],
          globalSetup: ['packages/server/test/support/global-services.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
