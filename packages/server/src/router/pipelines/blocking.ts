import { MercurioError } from '../../errors.js';
import type { RouterContext } from '../context.js';

/**
 * A direct message between two users one of whom blocks the other is refused before anything is
 * stored: the sender gets the `user_blocked` error event, the recipient nothing (not even that
 * it happened). The same answer whichever of the two blocks, so a blocked sender learns only
 * that the message cannot go, which the missing delivery would tell anyway.
 */
export async function refuseIfBlocked(ctx: RouterContext, app: string, sender: string, recipient: string) {
  if (sender === recipient) return;
  if (await ctx.store.blockedBetween(app, sender, recipient)) {
    throw new MercurioError('user_blocked', `${recipient} cannot receive direct messages from ${sender}`);
  }
}
