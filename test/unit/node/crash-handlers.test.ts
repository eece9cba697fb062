// Every program's last resort (installCrashHandlers): an unhandled rejection or uncaught exception gives one
// line on stderr (or one JSON log line with the program's logger) and exit code 1, not Node's stack dump.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');

function run(how: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['scripts/run-ts.mjs', 'test/unit/node/crash-program.ts', how], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, LR_LOG_LEVEL: 'info' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('installCrashHandlers', () => {
  it('an unhandled rejection: one line on stderr, exit code 1', () => {
    const r = run('rejection');
    expect(r.stderr).toBe('crash-program: internal error (unhandled promise rejection): the disk went away\n');
    expect(r.status).toBe(1);
  });

  it('an uncaught exception: one line on stderr, exit code 1', () => {
    const r = run('exception');
    expect(r.stderr).toBe('crash-program: internal error (uncaught exception): boom\n');
    expect(r.status).toBe(1);
  });

  it('a rejection with a non-Error says what was thrown', () => {
    const r = run('string');
    expect(r.stderr).toBe('crash-program: internal error (unhandled promise rejection): not an Error\n');
    expect(r.status).toBe(1);
  });

  it("with the program's logger: one JSON log line at level error", () => {
    const r = run('logger');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 'error',
      name: 'crash-program',
      msg: 'internal error (unhandled promise rejection): exiting',
      error: 'the disk went away',
    });
    expect(r.status).toBe(1);
  });

  it('a program that does not fail is left alone', () => {
    const r = run('ok');
    expect(r).toMatchObject({ status: 0, stdout: 'fine\n', stderr: '' });
  });
});
