import { checkId, GroupUpdateCommandSchema } from '@mercurio/protocol';
import type { Publication } from '../../bus/bus.js';
import { MercurioError } from '../../errors.js';
import type { Pipeline } from '../context.js';
import { publishOnly } from '../decision.js';
import { decodePayload } from '../decode.js';

/**
 * `apps/observer/<app>/groups/update` with `{group, notify_to}`: a service (the HTTP API) changed
 * a group and the members must hear of it. Only services can write this namespace — the router
 * does not listen on `apps/<app>/users/#/update` for it, which was Chat21's group-spoofing hole.
 * The group itself is changed in the store by whoever publishes this; the router only delivers.
 */
export const groupUpdatePipeline: Pipeline<'groupsUpdate'> = {
  orderKey: (topic) => `${topic.app}/g`,
  async run(ctx, { topic, body }) {
    const command = decodePayload(body, GroupUpdateCommandSchema, ctx.settings);
    const groupId = command.group.uid;
    const check = checkId(groupId, 'group id');
    if (!check.ok) throw new MercurioError('invalid_id', check.reason);
    const payload = { ...command.group, appId: topic.app };
    return publishOnly(
      Object.keys(command.notify_to)
        .filter((member) => checkId(member).ok)
        .map(
          (member): Publication => ({
            topic: { kind: 'groupUpdated', app: topic.app, user: member, groupId },
            payload,
          }),
        ),
    );
  },
};
