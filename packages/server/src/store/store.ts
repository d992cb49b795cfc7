import type { ApiStore } from './api-store.js';
import type { BlockStore } from './block-store.js';
import type { DataPolicyStore } from './data-policy-store.js';
import type { GroupAdminStore } from './group-admin-store.js';
import type { ProfileStore } from './profile-store.js';
import type { PublicationQueue } from './publication-queue.js';
import type { RouterStore } from './router-store.js';
import type { WebhookQueue } from './webhook-queue.js';

/**
 * Where messages rest, as the composition root holds it: every part's interface in one object.
 * Parts depend on their own slice — the router on `RouterStore`, the HTTP API on `ApiStore`, the
 * webhook worker on `WebhookQueue` — and the records live in types.ts. One implementation per
 * database (PostgreSQL, PGlite), the same SQL (sql-store.ts).
 */
export interface Store
  extends RouterStore,
    ApiStore,
    WebhookQueue,
    ProfileStore,
    // Group administration and the outbox of its publications (the publication relay's queue).
    GroupAdminStore,
    PublicationQueue,
    // The data owner's policies: retention, holds, erasure, export, audit (docs/data-policies.md).
    DataPolicyStore,
    // Blocks between users, muted conversations.
    BlockStore {
  close(): Promise<void>;
}
