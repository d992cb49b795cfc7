import type { SqlExecutor } from './sql.js';

/** A user's names as the server trusts them (Chat21's contact: fullname, firstname, lastname). */
export interface UserProfile {
  fullname: string | null;
  firstname: string | null;
  lastname: string | null;
}

/** The Store's user profiles (a part of `Store`). */
export interface ProfileStore {
  getProfile(app: string, user: string): Promise<UserProfile | null>;
  /**
   * Replaces the user's names. Writes nothing when they are already stored as given, so a
   * source that repeats itself (a token's claims on every request) costs a read, not a write.
   */
  setProfile(app: string, user: string, profile: UserProfile, at: number): Promise<void>;
}

export function createProfileStore(db: SqlExecutor): ProfileStore {
  return {
    async getProfile(app, user) {
      const { rows } = await db.query<UserProfile>(
        'SELECT fullname, firstname, lastname FROM user_profiles WHERE app_id = $1 AND user_id = $2',
        [app, user],
        'mercurio_get_profile',
      );
      return rows[0] ?? null;
    },
    async setProfile(app, user, profile, at) {
      await db.query(
        `INSERT INTO user_profiles (app_id, user_id, fullname, firstname, lastname, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (app_id, user_id) DO UPDATE
           SET fullname = EXCLUDED.fullname, firstname = EXCLUDED.firstname,
               lastname = EXCLUDED.lastname, updated_at = EXCLUDED.updated_at
           WHERE (user_profiles.fullname, user_profiles.firstname, user_profiles.lastname)
             IS DISTINCT FROM (EXCLUDED.fullname, EXCLUDED.firstname, EXCLUDED.lastname)`,
        [app, user, profile.fullname, profile.firstname, profile.lastname, at],
      );
    },
  };
}

/** The name shown for the user: the full name, else first and last name, else the user id (as Chat21). */
export function displayName(user: string, profile: UserProfile | null): string {
  if (profile?.fullname) return profile.fullname;
  const parts = [profile?.firstname, profile?.lastname].filter((part): part is string => !!part);
  return parts.length > 0 ? parts.join(' ') : user;
}
