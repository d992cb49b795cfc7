/**
 * Removes the blobs (attachment bytes, `<id>` and `<id>.thumb`) of attachments whose rows a purge
 * or an erasure deleted, after that transaction committed; resolves with how many keys it was
 * given. The hook where the attachment store's blob store (issue 16, attachments/blob-store.ts)
 * plugs in: `blobStoreRemover(blobStore)`. Without one (no blob store configured in this process)
 * the keys are only counted, and the bytes stay until the attachment store's own orphan sweep.
 */
export type MessageBlobRemover = (keys: readonly string[]) => Promise<number>;

export const noMessageBlobs: MessageBlobRemover = async () => 0;

/** The remover on a blob store (missing blobs are ignored by the store). */
export function blobStoreRemover(store: {
  delete(keys: readonly string[]): Promise<void>;
}): MessageBlobRemover {
  return async (keys) => {
    if (keys.length > 0) await store.delete(keys);
    return keys.length;
  };
}
