/**
 * The last resort of every program (lr-server, lr-agent, lr, the workstation): an exception nobody caught or
 * a promise rejection nobody handled is logged as one line and the program exits with code 1, instead of
 * Node's multi-line dump (or, in Electron's main process, a program left running in an unknown state).
 * Only the error's message is logged, never the values around it: a secret never reaches it.
 */
import type { Logger } from './log.js';
import { describeErrorOneLine } from '../shared/errors.js';

/** The exit code of a crash: the CLI contract's "command failed". */
export const CRASH_EXIT_CODE = 1;

/** Installs the handlers once per process. `log`: the program's logger; without one, a plain line on stderr. */
export function installCrashHandlers(program: string, log?: Pick<Logger, 'error'>): void {
  let crashed = false;
  const crash = (what: string, thrown: unknown): void => {
    if (crashed) return; // a second failure while exiting adds nothing
    crashed = true;
    const error = describeErrorOneLine(thrown);
    if (log) log.error(`${what}: exiting`, { error });
    else process.stderr.write(`${program}: ${what}: ${error}\n`);
    process.exit(CRASH_EXIT_CODE);
  };
  process.on('uncaughtException', (e) => crash('internal error (uncaught exception)', e));
  process.on('unhandledRejection', (reason) => crash('internal error (unhandled promise rejection)', reason));
}
