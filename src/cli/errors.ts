import { HttpError } from '../node/https-json.js';
import { describeError } from '../shared/errors.js';

/** CLI exit codes of the contract: 0 success, 1 command failed, 2 refused or usage (130: stopped waiting). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_REFUSED = 2;
/** Stopped by Ctrl+C while waiting for work that goes on without us (`lr batch run`): the shell's 128 + SIGINT. */
export const EXIT_INTERRUPTED = 130;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_REFUSED,
  ) {
    super(message);
  }
}

/** Prints one line and exits with the error's code (never a stack trace for expected errors). */
export function fail(prog: string, e: unknown): never {
  const code = e instanceof CliError ? e.exitCode : EXIT_FAILED;
  const msg = describeError(e);
  process.stderr.write(`${prog}: ${msg.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(code);
}

/** Parses durations like 30s, 15m, 24h, 7d. */
export function parseDuration(s: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(s.trim());
  if (!m) throw new CliError(`invalid duration ${s} (examples: 30m, 24h, 7d)`);
  const n = Number(m[1]);
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  if (n <= 0) throw new CliError(`invalid duration ${s}: must be positive`);
  return n * unit;
}

/** Wraps a CLI action that calls the service: refusals (4xx) exit 2, other HTTP failures exit 1. */
export function serviceAction<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof HttpError) throw new CliError(e.message, e.status < 500 ? EXIT_REFUSED : EXIT_FAILED);
      throw e;
    }
  };
}
