import { secretDigest, secretMatches } from '../../crypto/secrets.js';

/**
 * The admin API's bearer token check. The token is kept only as its SHA-256 digest and a
 * presented token is compared digest to digest in constant time (src/crypto/secrets.ts), so
 * neither its content nor its length leaks through timing.
 */
export class BearerToken {
  private readonly digest: Uint8Array;

  constructor(token: string) {
    if (token.length < 16) throw new RangeError('an admin token has at least 16 characters');
    this.digest = secretDigest(token);
  }

  /** Whether an Authorization header carries the token (`Bearer <token>`). */
  accepts(header: string | undefined): boolean {
    if (header === undefined || header.length > 1024) return false;
    const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
    return match !== null && secretMatches(match[1]!, this.digest);
  }
}
