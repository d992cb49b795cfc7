/**
 * Removes the stored blobs (attachments) of messages that were purged or erased, after the rows
 * that pointed at them are gone; resolves with how many blobs it removed.
 *
 * The hook where the attachment store (issue 16) plugs in its "remove a message's blobs"
 * function. Until it exists, nothing is attached to messages and there is nothing to remove.
 */
export type MessageBlobRemover = (app: string, messageIds: readonly string[]) => Promise<number>;

export const noMessageBlobs: MessageBlobRemover = async () => 0;
