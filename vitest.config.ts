import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

// Tests run against the workspace packages' TypeScript sources, never a stale dist/.
const resolve = {
  alias: {
    '@mercurio/protocol': fileURLToPath(new URL('./packages/protocol/src/index.ts', import.meta.url)),
    '@mercurio/sdk': fileURLToPath(new URL('./packages/sdk/src/index.ts', import.meta.url)),
  },
};

// Files that need the RabbitMQ cluster: their own project, below.
const CLUSTER_TESTS = 'packages/server/test/cluster-*.test.ts';
/**
 * Fault tests whose figures are timings (takeover, recovery) and which load the machine with
 * several routers, a broker restart or a database outage: one at a time, after the other tests,
 * so that neither disturbs the other.
 */
const FAULT_TESTS = [
  'packages/server/test/router-scaling.test.ts',
  'packages/server/test/router-scaling-burst.test.ts',
  'packages/server/test/broker-kill.test.ts',
  'packages/server/test/router-crash.test.ts',
  'packages/server/test/router-crash-idless.test.ts',
  'packages/server/test/router-db-outage.test.ts',
  'packages/server/test/router-db-stall.test.ts',
  'packages/server/test/pg-replica.test.ts',
];

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
          exclude: [...configDefaults.exclude, CLUSTER_TESTS, ...FAULT_TESTS],
          // The shared RabbitMQ + PostgreSQL, and an S3-compatible server for the attachment tests.
          globalSetup: [
            'packages/server/test/support/global-services.ts',
            'packages/server/test/support/global-s3.ts',
          ],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve,
        test: {
          name: 'faults',
          isolate: false,
          include: FAULT_TESTS,
          globalSetup: ['packages/server/test/support/global-services.ts'],
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 180_000,
        },
      },
      {
        resolve,
        test: {
          // Tests on the 3-node RabbitMQ cluster (scripts/cluster.sh, network namespaces, root): Vitest
          // runs a project's global setup only when one of its files is selected, so the cluster starts
          // only for them (and the shared services too, for tests that also need PostgreSQL).
          name: 'cluster',
          isolate: false,
          include: [CLUSTER_TESTS],
          globalSetup: [
            'packages/server/test/support/global-services.ts',
            'packages/server/test/support/global-cluster.ts',
          ],
          // They kill and cut the same three nodes: one file at a time.
          fileParallelism: false,
          testTimeout: 90_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
