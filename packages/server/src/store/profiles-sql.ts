import type { ProfileStore, UserProfile } from './profile-store.js';
import type { SqlExecutor } from './sql.js';

/** User profiles on SQL (the user_profiles table). */
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
