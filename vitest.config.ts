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
    // Most test files wait on real brokers, databases and browsers, not on the CPU: three at a time
    // (Vitest's default on this 2-core machine is one).
    maxWorkers: 3,
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
          // Modules keep no global state (the composition root passes everything down), so a worker
          // reuses what it imported for its next file instead of importing the engine again.
          isolate: false,
          include: ['packages/server/test/**/*.test.ts'],
          globalSetup: ['packages/server/test/support/global-services.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
