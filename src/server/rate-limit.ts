/**
 * Failed authentications per remote address, as a small token bucket: each failure (bad or revoked API
 * token on REST or on the console upgrade, failed agent hello, refused enrollment) takes a token; tokens
 * come back at a steady rate; an address with an empty bucket is answered 429 (REST, upgrades) or closed
 * (agent hello) before any credential is looked at. Successful requests cost nothing, so a working client
 * is never slowed down.
 */
export interface AuthLimiterOptions {
  /** Failures allowed in a burst. */
  burst: number;
  /** Failures forgiven per second. */
  refillPerSec: number;
  /** Addresses remembered at most (the oldest are forgotten first). */
  maxAddresses: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class AuthLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly o: AuthLimiterOptions;

  constructor(
    options: Partial<AuthLimiterOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.o = { burst: 20, refillPerSec: 1, maxAddresses: 10_000, ...options };
  }

  private bucket(address: string): Bucket {
    const t = this.now();
    let b = this.buckets.get(address);
    if (!b) {
      b = { tokens: this.o.burst, at: t };
      if (this.buckets.size >= this.o.maxAddresses) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      this.buckets.set(address, b);
      return b;
    }
    b.tokens = Math.min(this.o.burst, b.tokens + ((t - b.at) / 1000) * this.o.refillPerSec);
    b.at = t;
    return b;
  }

  /** Whether this address has used up its failures (answer 429 without looking at its credentials). */
  blocked(address: string): boolean {
    const b = this.buckets.get(address);
    if (!b) return false;
    return this.bucket(address).tokens < 1;
  }

  /** Records one failed authentication from this address. */
  failed(address: string): void {
    const b = this.bucket(address);
    b.tokens = Math.max(0, b.tokens - 1);
    // Refresh its place: the most recently failing addresses are the last forgotten.
    this.buckets.delete(address);
    this.buckets.set(address, b);
  }

  /** Seconds until the address may try again. */
  retryAfterSec(address: string): number {
    const b = this.buckets.get(address);
    if (!b) return 0;
    return Math.max(1, Math.ceil((1 - this.bucket(address).tokens) / this.o.refillPerSec));
  }
}
