/**
 * Tests that need something of the machine (root, a Debian package, a second file system) declare it here,
 * so that no skip is silent: where the need is not met, the test is skipped with the reason in its name
 * ("… (skipped: yara is not installed)"), which the summary shows.
 *
 * On the CI machine nothing may be skipped: there (root, or LR_TESTS_STRICT=1, which .ci/run sets; .ci/run
 * installs every Debian package the tests use) an unmet need is a failing test saying what is missing.
 */
import { execFileSync } from 'node:child_process';
import { describe, it, type TestFunction } from 'vitest';

export const IS_ROOT = process.getuid?.() === 0;

/** Whether an unmet need fails instead of skipping, and why. */
const STRICT_REASON: string | null =
  process.env.LR_TESTS_STRICT === '1'
    ? 'LR_TESTS_STRICT=1 (set by .ci/run)'
    : IS_ROOT
      ? 'running as root, as CI does'
      : null;

/** Why `command` cannot be run from PATH, or null when it can. */
export function missingCommand(command: string, debianPackage = command): string | null {
  try {
    execFileSync('sh', ['-c', `command -v "$1"`, 'sh', command], { stdio: 'pipe' });
    return null;
  } catch {
    return `${command} is not installed (apt-get install ${debianPackage}; .ci/run installs it)`;
  }
}

/** The first problem of several, or null. */
export function firstProblem(...problems: (string | null)[]): string | null {
  return problems.find((p) => p !== null) ?? null;
}

function unmet(problem: string): Error {
  return new Error(`cannot run on this machine: ${problem}. No test may be skipped here (${STRICT_REASON ?? ''}).`);
}

/** `it`, unless `problem` says why this machine cannot run it: then skipped with the reason, or failing (CI). */
export function itNeeds(problem: string | null): (name: string, fn: TestFunction, timeout?: number) => void {
  return (name, fn, timeout) => {
    if (problem === null) it(name, fn, timeout);
    else if (STRICT_REASON) {
      it(name, () => {
        throw unmet(problem);
      });
    } else it.skip(`${name} (skipped: ${problem})`, fn);
  };
}

/** `describe`, unless `problem` says why this machine cannot run it (see itNeeds). */
export function describeNeeds(problem: string | null): (name: string, body: () => void) => void {
  return (name, body) => {
    if (problem === null) describe(name, body);
    else if (STRICT_REASON) {
      describe(name, () => {
        it('can run on this machine', () => {
          throw unmet(problem);
        });
      });
    } else describe.skip(`${name} (skipped: ${problem})`, body);
  };
}
