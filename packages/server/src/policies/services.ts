import type { Logger } from '../logger.js';
import type { DataPolicyStore } from '../store/data-policy-store.js';
import { type MessageBlobRemover, noMessageBlobs } from './message-blobs.js';
import type { PolicyMetrics } from './policy-metrics.js';
import { DEFAULT_RETENTION_SETTINGS, RetentionPurger, type RetentionSettings } from './retention-purge.js';

/** What the data-policy routes run besides the store: the purge, and the blob remover it shares. */
export interface DataPolicyServices {
  purger: Pick<RetentionPurger, 'run'>;
  /** Removes purged or erased messages' attachment blobs (issue 16's hook; nothing until it lands). */
  blobs: MessageBlobRemover;
  metrics?: PolicyMetrics | undefined;
}

export function dataPolicyServices(deps: {
  store: DataPolicyStore;
  log: Logger;
  settings?: RetentionSettings;
  blobs?: MessageBlobRemover;
  metrics?: PolicyMetrics;
}): DataPolicyServices & { purger: RetentionPurger } {
  const blobs = deps.blobs ?? noMessageBlobs;
  return {
    blobs,
    metrics: deps.metrics,
    purger: new RetentionPurger({
      store: deps.store,
      settings: deps.settings ?? DEFAULT_RETENTION_SETTINGS,
      log: deps.log.child({ component: 'retention' }),
      now: Date.now,
      blobs,
      ...(deps.metrics ? { metrics: deps.metrics } : {}),
    }),
  };
}
