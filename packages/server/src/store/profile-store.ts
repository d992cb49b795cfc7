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

/** The name shown for the user: the full name, else first and last name, else the user id (as Chat21). */
export function displayName(user: string, profile: UserProfile | null): string {
  if (profile?.fullname) return profile.fullname;
  const parts = [profile?.firstname, profile?.lastname].filter((part): part is string => !!part);
  return parts.length > 0 ? parts.join(' ') : user;
}
