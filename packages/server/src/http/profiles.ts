import { SYSTEM_SENDER } from '@mercurio/protocol';
import type { JWTPayload } from 'jose';
import { z } from 'zod';
import type { UserProfile } from '../store/profile-store.js';
import type { Caller, HttpContext } from './context.js';

/** A display name: one line of up to 256 characters, no control characters. */
export const displayNameField = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .regex(/^\P{Cc}*$/u, 'must not contain control characters');

/** The names a trusted caller may give for a user (token route, profile route, dev login). */
export const profileFields = {
  fullname: displayNameField.optional(),
  firstname: displayNameField.optional(),
  lastname: displayNameField.optional(),
};

type ProfileInput = {
  fullname?: string | undefined;
  firstname?: string | undefined;
  lastname?: string | undefined;
};

/** The profile the input states, or undefined when it names nothing (then nothing is changed). */
export function profileOf(input: ProfileInput): UserProfile | undefined {
  const { fullname = null, firstname = null, lastname = null } = input;
  if (fullname === null && firstname === null && lastname === null) return undefined;
  return { fullname, firstname, lastname };
}

/** Writes the user's profile when there is one to write; `system`'s name is the server's own. */
export async function saveProfile(
  ctx: HttpContext,
  app: string,
  user: string,
  profile: UserProfile | undefined,
): Promise<void> {
  if (profile && user !== SYSTEM_SENDER) await ctx.store.setProfile(app, user, profile, ctx.now());
}

/** Most (app, user, name) triples one HTTP process remembers having written from token claims. */
const MAX_REMEMBERED_CLAIMS = 50_000;

/**
 * A verified user token may carry the user's names as OpenID Connect claims (`name`,
 * `given_name`, `family_name`): the issuer is trusted, so they become the user's profile. The
 * router never sees tokens on RabbitMQ, hence the profile. Each process writes a user's claimed
 * names once (the store skips a write that changes nothing anyway).
 */
export class ClaimedNames {
  readonly #ctx: HttpContext;
  readonly #written = new Set<string>();

  constructor(ctx: HttpContext) {
    this.#ctx = ctx;
  }

  async record(caller: Caller): Promise<void> {
    const app = caller.appId;
    if (app === undefined || caller.uid === SYSTEM_SENDER) return;
    const profile = claimedProfile(caller.claims);
    if (!profile) return;
    const key = JSON.stringify([app, caller.uid, profile]);
    if (this.#written.has(key)) return;
    await saveProfile(this.#ctx, app, caller.uid, profile);
    if (this.#written.size >= MAX_REMEMBERED_CLAIMS) this.#written.clear();
    this.#written.add(key);
  }
}

function claimedProfile(claims: JWTPayload): UserProfile | undefined {
  const claim = (name: string) => {
    const parsed = displayNameField.safeParse(claims[name]);
    return parsed.success ? parsed.data : undefined;
  };
  return profileOf({
    fullname: claim('name'),
    firstname: claim('given_name'),
    lastname: claim('family_name'),
  });
}
