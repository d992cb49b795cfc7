/** The claims the SDK reads from a JWT (it never verifies it: the server does). */
export interface TokenClaims {
  sub?: string;
  app_id?: string;
  exp?: number;
}

function base64UrlDecode(part: string): string {
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** Reads a JWT's payload; `{}` when it is not a JWT. */
export function readClaims(token: string): TokenClaims {
  const payload = token.split('.')[1];
  if (payload === undefined) return {};
  try {
    const claims = JSON.parse(base64UrlDecode(payload)) as unknown;
    return typeof claims === 'object' && claims !== null ? (claims as TokenClaims) : {};
  } catch {
    return {};
  }
}

/** Seconds until `exp` (negative when expired); undefined without `exp`. */
export function secondsLeft(token: string, nowMs: number): number | undefined {
  const exp = readClaims(token).exp;
  return typeof exp === 'number' ? exp - nowMs / 1000 : undefined;
}

/**
 * The current token, refreshed through the app's hook when it is about to expire (or when the
 * server refused it). Concurrent callers share one refresh.
 */
export class TokenSource {
  #token: string;
  readonly #refresh: (() => Promise<string>) | undefined;
  readonly #marginSeconds: number;
  #refreshing: Promise<string> | undefined;

  constructor(token: string, refresh: (() => Promise<string>) | undefined, marginSeconds = 60) {
    this.#token = token;
    this.#refresh = refresh;
    this.#marginSeconds = marginSeconds;
  }

  get current(): string {
    return this.#token;
  }

  get marginSeconds(): number {
    return this.#marginSeconds;
  }

  get canRefresh(): boolean {
    return this.#refresh !== undefined;
  }

  set(token: string): void {
    this.#token = token;
  }

  /** The token to use now: refreshed first when it expires within the margin. */
  async get(): Promise<string> {
    const left = secondsLeft(this.#token, Date.now());
    if (this.#refresh && left !== undefined && left < this.#marginSeconds) return this.refresh();
    return this.#token;
  }

  /** Asks the app for a new token (no-op without a hook). */
  refresh(): Promise<string> {
    const hook = this.#refresh;
    if (!hook) return Promise.resolve(this.#token);
    this.#refreshing ??= hook().then(
      (token) => {
        this.#token = token;
        this.#refreshing = undefined;
        return token;
      },
      (error: unknown) => {
        this.#refreshing = undefined;
        throw error;
      },
    );
    return this.#refreshing;
  }

  /** True when the token is past its `exp` and cannot be refreshed. */
  hopeless(): boolean {
    const left = secondsLeft(this.#token, Date.now());
    return !this.#refresh && left !== undefined && left <= 0;
  }
}
