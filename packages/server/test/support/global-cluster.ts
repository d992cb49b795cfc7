/**
 * Vitest global setup of the `cluster` project (files `packages/server/test/cluster-*.test.ts`):
 * starts the 3-node RabbitMQ cluster of `scripts/cluster.sh` — only when such a file is selected,
 * Vitest runs a project's global setup only then — and provides its coordinates as
 * `inject('cluster')` (see `cluster.ts`).
 *
 * Teardown stops it (processes, network namespaces, links), unless MERCURIO_CLUSTER_KEEP=1 or it
 * was already running before the setup (then whoever started it owns it).
 */
import type { TestProject } from 'vitest/node';
import { TestCluster } from './cluster.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const testCluster = await TestCluster.start();
  process.stderr.write(`[cluster] ready for the tests in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  project.provide('cluster', testCluster.env);

  return async () => {
    if (!testCluster.created || process.env.MERCURIO_CLUSTER_KEEP === '1') {
      process.stderr.write(
        `[cluster] left running (${testCluster.created ? 'MERCURIO_CLUSTER_KEEP=1' : 'was running before the tests'}); ` +
          'stop with: bash scripts/cluster.sh stop\n',
      );
      return;
    }
    await testCluster.stop();
  };
}
