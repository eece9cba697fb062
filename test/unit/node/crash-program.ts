// A tiny program for crash-handlers.test.ts (run through scripts/run-ts.mjs): installs the crash handlers
// the way lr, lr-server and lr-agent do, then fails the way argv[2] says.
import { installCrashHandlers } from '../../../src/node/crash-handlers.js';
import { Logger } from '../../../src/node/log.js';

const how = process.argv[2];
installCrashHandlers('crash-program', how === 'logger' ? new Logger('crash-program') : undefined);

if (how === 'rejection' || how === 'logger') void Promise.reject(new Error('the disk\nwent away'));
else if (how === 'exception')
  setTimeout(() => {
    throw new Error('boom');
  }, 0);
else if (how === 'string') void Promise.reject('not an Error');
else process.stdout.write('fine\n');
