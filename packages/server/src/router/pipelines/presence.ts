import { type PresenceEvent, PresencePayloadSchema } from '@mercurio/protocol';
import type { Publication } from '../../bus/bus.js';
import { presenceEvent } from '../../webhooks/events.js';
import type { Pipeline } from '../context.js';
import { decodePayload } from '../decode.js';

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
    const change = await ctx.store.setPresence(app, user, clientId, online, now, ({ before, after }) =>
      before === after ? [] : ctx.webhooks.entries([presenceEvent(app, user, after, now)]),
    );
    // A redelivery may follow a crash between commit and publish: announce again to be sure.
    if (change.before === change.after && !redelivered) return [];
    const event: PresenceEvent = { user_id: user, status: change.after, timestamp: now };
    if (change.after === 'offline') event.last_online = now;
    const peers = await ctx.store.directPeers(app, user, ctx.settings.presencePeerLimit);
    return peers.map(
      (peer): Publication => ({
        topic: { kind: 'presenceChanged', app, user: peer, peer: user },
        payload: event,
      }),
    );
  },
};
