import type { DataPolicyStore, ErasureJob, ErasureMode } from '../store/data-policy-store.js';
import type { MessageBlobRemover } from './message-blobs.js';

/** Messages of one conversation rewritten per transaction. */
const ERASE_BATCH = 500;

/**
 * The right to be forgotten (docs/data-policies.md): every step is a short transaction that
 * records its counts in the user's erasure job, and every step can run again (what it acted on no
 * longer matches), so an erasure cut short is resumed by running it again, and repeating a
 * finished one changes nothing.
 *
 * 1. each conversation the user took part in: their messages tombstoned (or removed) with their
 *    attachments and webhook events, batch by batch; then their name dropped from what others
 *    sent them, and everyone's conversation row of it rewritten from the stored messages;
 * 2. the user's own rows: conversations, group memberships, presence, devices, profile, blocks,
 *    pending events and publications naming them, dead letters they sent, unsent attachments;
 * 3. the blobs of every attachment deleted, once its row's deletion committed.
 */
export async function eraseUser(
  store: Pick<
    DataPolicyStore,
    | 'startErasure'
    | 'userConversationKeys'
    | 'eraseMessageBatch'
    | 'scrubConversation'
    | 'eraseUserRows'
    | 'finishErasure'
  >,
  blobs: MessageBlobRemover,
  request: { app: string; user: string; mode: ErasureMode; now: number },
): Promise<ErasureJob> {
  const { app, user, mode } = request;
  await store.startErasure(app, user, mode, request.now);
  const keys = await store.userConversationKeys(app, user);
  for (const key of keys) {
    let after = 0;
    for (;;) {
      const batch = await store.eraseMessageBatch(app, user, mode, key, after, ERASE_BATCH);
      if (batch.blobKeys.length > 0) await blobs(batch.blobKeys);
      if (batch.lastSeq === undefined) break;
      after = batch.lastSeq;
    }
    await store.scrubConversation(app, user, key);
  }
  const blobKeys = await store.eraseUserRows(app, user);
  if (blobKeys.length > 0) await blobs(blobKeys);
  return store.finishErasure(app, user, Date.now());
}
