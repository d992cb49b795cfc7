import type { GroupRecord } from '../store/types.js';

/** Chat21's `notification` of a group change: what happened, as a label and its parameters. */
export interface GroupNotification {
  messagelabel: { key: string; parameters: Record<string, unknown> };
}

/** Chat21's group object (§3.4). */
export function groupView(group: GroupRecord, notification?: GroupNotification): Record<string, unknown> {
  return {
    uid: group.uid,
    name: group.name,
    appId: group.app,
    owner: group.owner,
    members: membersMap(group.members),
    createdOn: group.createdOn,
    updatedOn: group.updatedOn,
    ...(group.attributes === null ? {} : { attributes: group.attributes }),
    ...(notification ? { notification } : {}),
  };
}

export function membersMap(members: Iterable<string>): Record<string, 1> {
  return Object.fromEntries([...members].map((member) => [member, 1 as const]));
}
