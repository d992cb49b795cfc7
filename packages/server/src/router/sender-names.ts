import { displayName, type ProfileStore } from '../store/profile-store.js';

/** Distinct users whose names one router process keeps; the oldest entry goes first beyond it. */
const MAX_ENTRIES = 50_000;

interface Entry {
  name: Promise<string>;
  expiresAt: number;
}

/**
 * The display name the server trusts for a user (their profile's name, else their id), as the
 * router writes it into sender_fullname and writer_fullname. Every message needs its sender's
 * name, so names are kept for `ttlMs` per router process (a changed name shows after at most
 * that long) and concurrent look-ups of one user share one query.
 */
export class SenderNames {
  readonly #store: Pick<ProfileStore, 'getProfile'>;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(store: Pick<ProfileStore, 'getProfile'>, ttlMs: number, now: () => number) {
    this.#store = store;
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  nameOf(app: string, user: string): Promise<string> {
    const key = `${app}/${user}`;
    const now = this.#now();
    const cached = this.#entries.get(key);
    if (cached && cached.expiresAt > now) return cached.name;
    const name = this.#store.getProfile(app, user).then((profile) => displayName(user, profile));
    if (this.#ttlMs <= 0) return name;
    if (cached) this.#entries.delete(key);
    else if (this.#entries.size >= MAX_ENTRIES) this.#evictOldest();
    this.#entries.set(key, { name, expiresAt: now + this.#ttlMs });
    // A failed read is not kept: the next message asks the store again.
    name.catch(() => {
      if (this.#entries.get(key)?.name === name) this.#entries.delete(key);
    });
    return name;
  }

  #evictOldest(): void {
    const oldest = this.#entries.keys().next();
    if (!oldest.done) this.#entries.delete(oldest.value);
  }
}
