import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "mercurio-source" condition,
// so tests run against src/ without a build step.
const resolve = { conditions: ['mercurio-source'] };

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
