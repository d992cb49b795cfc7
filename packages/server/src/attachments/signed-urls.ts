import { createHmac, timingSafeEqual } from 'node:crypto';
import { MercurioError } from '../errors.js';

export type FileVariant = 'original' | 'thumbnail';

/**
 * Short-lived file URLs that work in `<img src>` without a header: the path names the app, the
 * attachment and the variant, the query its expiry and an HMAC-SHA256 over all four, keyed by a
 * key derived from the JWT secret (so no new secret to configure, and one never reused as is).
 */
export class UrlSigner {
  readonly #key: Buffer;

  constructor(jwtSecret: string) {
    this.#key = createHmac('sha256', jwtSecret).update('mercurio attachment urls v1').digest();
  }

  #mac(app: string, id: string, variant: FileVariant, expires: number): string {
    return createHmac('sha256', this.#key)
      .update(`${app}\n${id}\n${variant}\n${expires}`)
      .digest('base64url');
  }

  /** The query string of a URL valid until `expires` (seconds since the epoch). */
  sign(app: string, id: string, variant: FileVariant, expires: number): string {
    return `exp=${expires}&sig=${this.#mac(app, id, variant, expires)}`;
  }

  /** Throws `invalid_signature` unless the signature is this one's and not expired at `nowSeconds`. */
  verify(app: string, id: string, variant: FileVariant, exp: string, sig: string, nowSeconds: number): void {
    const expires = /^\d{1,12}$/.test(exp) ? Number(exp) : Number.NaN;
    const expected = Buffer.from(Number.isNaN(expires) ? '' : this.#mac(app, id, variant, expires));
    const given = Buffer.from(sig);
    if (expected.length === 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new MercurioError('invalid_signature', 'the file URL signature is not valid');
    }
    if (expires <= nowSeconds) throw new MercurioError('invalid_signature', 'the file URL has expired');
  }
}
