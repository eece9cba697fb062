/** `lr-agent`: enroll | start — the endpoint agent's command line (product.md contract). */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { chmodSync, mkdirSync } from 'node:fs';
import { enroll } from '../agent/enroll.js';
import { startAgent } from '../agent/run-agent.js';
import { fail } from './errors.js';
import { deviceNameProblem } from '../shared/device-name.js';

const PROG = 'lr-agent';
// The agent's key, quarantine and working files are private to its user.
process.umask(0o077);
const program = new Command(PROG).description('Live response agent');
program.exitOverride();

program
  .command('enroll')
  .description('registers this device with the service and stores its key in DIR')
  .requiredOption('--bundle <file>', 'enrollment bundle from `lr-server enroll-token`')
  .requiredOption('--data <dir>', 'agent data folder')
  .option('--name <name>', 'device name (default: host name)')
  .action(async (o: { bundle: string; data: string; name?: string }) => {
    const problem = o.name === undefined ? null : deviceNameProblem(o.name);
    if (problem) throw new Error(problem);
    const dir = resolve(o.data);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // also when it existed with a wider mode: it will hold the device's private key
    const state = await enroll(resolve(o.bundle), dir, o.name);
    const taken = state.requestedName ? `: the name ${state.requestedName} is taken by another device` : '';
    process.stdout.write(`enrolled as ${state.name} (device id ${state.deviceId})${taken}\n`);
  });

program
  .command('start')
  .description('connects out to the service and serves commands; reconnects forever')
  .requiredOption('--data <dir>', 'agent data folder')
  .option('--sysroot <dir>', 'root of the file system for configuration readers (tests point it at a fixture tree)', process.env.LR_AGENT_SYSROOT ?? '/')
  .action(async (o: { data: string; sysroot: string }) => {
    const agent = await startAgent({ dataDir: o.data, sysroot: o.sysroot });
    process.stdout.write(`lr-agent ${agent.state.name} (${agent.state.deviceId}) started\n`);
    const stop = () => {
      agent.stop().then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  const ce = e as { code?: string };
  if (ce.code === 'commander.helpDisplayed' || ce.code === 'commander.version') process.exit(0);
  if (ce.code?.startsWith('commander.')) process.exit(2);
  fail(PROG, e);
});
