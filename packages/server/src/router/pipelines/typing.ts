import { type TypingEvent, TypingPayloadSchema } from '@mercurio/protocol';
import type { Publication } from '../../bus/bus.js';
import { MercurioError } from '../../errors.js';
import type { Pipeline } from '../context.js';
import { publishOnly } from '../decision.js';
import { decodePayload } from '../decode.js';

/**
 * `apps/<app>/users/<me>/typing/<cw>` with `{typing?: boolean}`: passed on to the other party (or
 * the other group members) as `…/users/<them>/typing/<cw as they see it>/clientupdated`. Never stored.
 */
export const typingPipeline: Pipeline<'typing'> = {
  orderKey: (topic) => `${topic.app}/t/${topic.user}/${topic.conversWith}`,
  async run(ctx, { topic, body }) {
    const payload = decodePayload(body, TypingPayloadSchema, ctx.settings);
    const { app, user, conversWith } = topic;
    // The writer's name is the one the server trusts, whatever the client put in writer_fullname.
    const writerFullname = await ctx.senderNames.nameOf(app, user);
    const event = (seenAs: string): TypingEvent => ({
      writer_id: user,
      writer_fullname: writerFullname,
      conversWith: seenAs,
      typing: payload.typing ?? true,
      timestamp: ctx.now(),
    });
    const group = await ctx.store.getGroup(app, conversWith);
    if (!group) {
      if (conversWith === user) return publishOnly([]);
      // Between a blocked pair nothing leaks, either way (and the typer is not told).
      if (await ctx.store.blockedBetween(app, user, conversWith)) return publishOnly([]);
      return publishOnly([
        { topic: { kind: 'typingChanged', app, user: conversWith, conversWith: user }, payload: event(user) },
      ]);
    }
    if (!group.members.includes(user)) {
      throw new MercurioError('not_a_member', `${user} is not a member of group ${conversWith}`);
    }
    const payloadForGroup = event(conversWith);
    // A member who blocks the typer (or whom the typer blocks) is not told, in a group either.
    const others = group.members.filter((member) => member !== user);
    const blocked = new Set(await ctx.store.blockedAmong(app, user, others));
    return publishOnly(
      others
        .filter((member) => !blocked.has(member))
        .map(
          (member): Publication => ({
            topic: { kind: 'typingChanged', app, user: member, conversWith },
            payload: payloadForGroup,
          }),
        ),
    );
  },
};
