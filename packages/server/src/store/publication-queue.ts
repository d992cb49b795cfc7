import type { Publication } from '../bus/bus.js';

/**
 * What a change must publish, written in the change's own transaction (the transactional outbox
 * of publications). The relay publishes entries of one `orderingKey` one after another.
 */
export interface PublicationEntry {
  app: string;
  /** Entries with the same key (e.g. one group) are published in commit order. */
  orderingKey: string;
  /** Published in this order, in one call to the bus. */
  publications: readonly Publication[];
}

/** An entry leased to one relay until `claimedUntil`; nobody else publishes it meanwhile. */
export interface ClaimedPublications {
  id: number;
  attempts: number;
  publications: Publication[];
}

/** The outbox as the publication relay sees it (the Store implements it). */
export interface PublicationQueue {
  /**
   * Leases due entries, at most one per ordering key (the oldest), oldest first; several relays
   * share the table without publishing an entry twice at the same time. Only `app`'s entries
   * unless it is undefined.
   */
  claimPublications(
    app: string | undefined,
    now: number,
    leaseMs: number,
    limit: number,
  ): Promise<ClaimedPublications[]>;
  /** The broker confirmed every publication of the entry: it is deleted. */
  completePublications(id: number): Promise<void>;
  /** Publishing failed: the lease is given back and the entry is due again at `retryAt`. */
  retryPublications(id: number, error: string, retryAt: number): Promise<void>;
  /** Entries not yet published, for operators and tests. */
  pendingPublications(app: string): Promise<number>;
}
