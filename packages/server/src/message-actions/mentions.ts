/**
 * The mentions a message keeps: user ids of the conversation's participants other than the
 * sender (the direct peer, or the group's members), each once, in the order given.
 */
export function participantMentions(
  mentions: readonly string[] | undefined,
  participants: readonly string[],
  sender: string,
): string[] | undefined {
  if (mentions === undefined) return undefined;
  const allowed = new Set(participants);
  allowed.delete(sender);
  return [...new Set(mentions)].filter((user) => allowed.has(user));
}

/** The participants of a conversation other than the sender: the peer, or the group's members. */
export function participantsOf(
  channelType: 'direct' | 'group',
  recipient: string,
  groupMembers: readonly string[] | undefined,
): string[] {
  return channelType === 'group' ? [...(groupMembers ?? [])] : [recipient];
}
