import { type PresenceEvent, PresencePayloadSchema } from '@mercurio/protocol';
import type { Publication } from '../../bus/bus.js';
import { presenceEvent } from '../../webhooks/events.js';
import type { Pipeline } from '../context.js';
import { publishOnly } from '../decision.js';
import { decodePayload } from '../decode.js';
import { outboxRows } from '../outbox-rows.js';

/**
 * `apps/<app>/users/<me>/presence/<client_id>`: `{connected: true}` when a client connects, the
 * last will `{disconnected: true}` when it drops. A user is online while any client is. When the
 * user's status changes, peers in a direct conversation with them get
 * `apps/<app>/users/<peer>/presence/<me>/clientupdated`.
 */
export const presencePipeline: Pipeline<'presence'> = {
  orderKey: (topic) => `${topic.app}/p/${topic.user}`,
  async run(ctx, { topic, body, redelivered }) {
    const payload = decodePayload(body, PresencePayloadSchema, ctx.settings);
    const online = Boolean(payload.connected) && !payload.disconnected;
    const { app, user, clientId } = topic;
    const now = ctx.now();
    const outbox = outboxRows(ctx);
    const change = await ctx.store.setPresence(app, user, clientId, online, now, ({ before, after }) =>
      before === after ? [] : outbox.rows([presenceEvent(app, user, after, now)]),
    );
    outbox.committed();
    // A redelivery may follow a crash between commit and publish: announce again to be sure.
    if (change.before === change.after && !redelivered) return publishOnly([]);
    const event: PresenceEvent = { user_id: user, status: change.after, timestamp: now };
    if (change.after === 'offline') event.last_online = now;
    const peers = await ctx.store.directPeers(app, user, ctx.settings.presencePeerLimit);
    // Nobody in a block with the user (either way) learns when they come and go.
    const blocked = new Set(await ctx.store.blockedAmong(app, user, peers));
    return publishOnly(
      peers
        .filter((peer) => !blocked.has(peer))
        .map(
          (peer): Publication => ({
            topic: { kind: 'presenceChanged', app, user: peer, peer: user },
            payload: event,
          }),
        ),
    );
  },
};
