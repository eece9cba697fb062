/**
 * `lr-agent`: enroll | start | install | uninstall | status | service — the endpoint agent's command line (product.md
 * contract).
 */
import { Command } from 'commander';
import { resolve, win32 } from 'node:path';
import { chmodSync, mkdirSync } from 'node:fs';
import {
  agentVersionLine,
  DEFAULT_DATA_DIR,
  defaultDataDir,
  enroll,
  isSeaBuild,
  linuxStatusLines,
  loadLinuxInstall,
  loadSupervisor,
  loadWindowsInstall,
  runAgentInForeground,
  statusLines,
} from '../agent/index.js';
import { CliError, fail } from './errors.js';
import { deviceNameProblem } from '../shared/wire/device-name.js';
import { Logger } from '../node/log.js';
import { installCrashHandlers } from '../node/crash-handlers.js';

const PROG = 'lr-agent';
installCrashHandlers(PROG, new Logger(PROG));
const win32Resolve = (p: string) => win32.resolve(p);
// The agent's key, quarantine and working files are private to its user.
process.umask(0o077);
const say = (line: string): void => {
  process.stdout.write(line + '\n');
};
const program = new Command(PROG)
  .description('Live response agent')
  .version(agentVersionLine(), '-V, --version', 'prints the version, build commit, target and Node version');
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
    const state = await enrollInto(resolve(o.bundle), resolve(o.data), o.name);
    const taken = state.requestedName ? `: the name ${state.requestedName} is taken by another device` : '';
    process.stdout.write(`enrolled as ${state.name} (device id ${state.deviceId})${taken}\n`);
  });

/** `lr-agent enroll`'s work, also done by `lr-agent install` on Linux. */
async function enrollInto(bundle: string, dir: string, name?: string) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // also when it existed with a wider mode: it will hold the device's private key
  return enroll(bundle, dir, name);
}

program
  .command('start')
  .description('connects out to the service and serves commands; reconnects forever')
  .requiredOption('--data <dir>', 'agent data folder')
  .option(
    '--sysroot <dir>',
    'root of the file system for configuration readers (tests point it at a fixture tree)',
    process.env.LR_AGENT_SYSROOT ?? '/',
  )
  .action(async (o: { data: string; sysroot: string }) => {
    await runAgentInForeground({ dataDir: resolve(o.data), sysroot: o.sysroot }, say);
  });

/** Installing as a service: the SCM on Windows, systemd on Linux. */
function serviceOs(): 'win32' | 'linux' {
  if (process.platform === 'win32' || process.platform === 'linux') return process.platform;
  throw new CliError(
    `installing lr-agent as a service is written for Linux (systemd) and Windows, not ${process.platform}: use lr-agent enroll and lr-agent start under your own supervisor`,
  );
}

/** The Windows service code, loaded only on Windows (it loads koffi). */
const windows = loadWindowsInstall;
const linux = loadLinuxInstall;

function dataDirOption(data: string | undefined): string {
  if (serviceOs() === 'linux') return resolve(data ?? DEFAULT_DATA_DIR);
  return win32Resolve(data ?? defaultDataDir(process.env));
}

program
  .command('install')
  .description(
    'enrolls into /var/lib/lr-agent (Linux, root only) or %ProgramData%\\lr-agent (Windows, SYSTEM and Administrators only) and runs the agent as the service lr-agent (systemd unit / Windows service)',
  )
  .option(
    '--bundle <file>',
    'enrollment bundle from `lr-server enroll-token` (not needed when DIR already holds an enrolled agent)',
  )
  .option('--name <name>', 'device name (default: host name)')
  .option('--data <dir>', 'agent data folder (default: /var/lib/lr-agent, %ProgramData%\\lr-agent on Windows)')
  .action(async (o: { bundle?: string; data?: string; name?: string }) => {
    const os = serviceOs();
    const problem = o.name === undefined ? null : deviceNameProblem(o.name);
    if (problem) throw new CliError(problem);
    const script = resolve(process.argv[1]!);
    if (os === 'linux') {
      const { installLinuxService } = await linux();
      const program = { isSea: isSeaBuild(), execPath: process.execPath, script };
      return installLinuxService(
        { bundle: o.bundle && resolve(o.bundle), name: o.name, dataDir: dataDirOption(o.data), program, enrollInto },
        say,
      );
    }
    const { installAgentService } = await windows();
    await installAgentService(
      {
        bundle: o.bundle && resolve(o.bundle),
        name: o.name,
        dataDir: dataDirOption(o.data),
        nodeExe: process.execPath,
        script,
      },
      say,
    );
  });

program
  .command('uninstall')
  .description(
    'releases an isolation, stops and removes the lr-agent service (and on Linux the binary it installed); --purge also deletes its data folder (device key included)',
  )
  .option('--purge', 'delete the data folder too')
  .option('--data <dir>', 'agent data folder (default: /var/lib/lr-agent, %ProgramData%\\lr-agent on Windows)')
  .action(async (o: { purge?: boolean; data?: string }) => {
    if (serviceOs() === 'linux')
      return (await linux()).uninstallLinuxService(dataDirOption(o.data), o.purge === true, say);
    const { uninstallAgentService } = await windows();
    await uninstallAgentService(dataDirOption(o.data), o.purge === true, say);
  });

program
  .command('status')
  .description(
    'is the lr-agent service installed and running, the agent enrolled (device id, name) and (Linux) connected',
  )
  .option('--data <dir>', 'agent data folder (default: /var/lib/lr-agent, %ProgramData%\\lr-agent on Windows)')
  .action(async (o: { data?: string }) => {
    if (serviceOs() === 'linux')
      return say(linuxStatusLines((await linux()).linuxAgentStatus(dataDirOption(o.data))).join('\n'));
    const { agentServiceStatus } = await windows();
    process.stdout.write(statusLines(agentServiceStatus(dataDirOption(o.data))).join('\n') + '\n');
  });

program
  .command('service')
  .description(
    'the agent as the system service runs it (systemd on Linux, the service control manager on Windows): the self-update supervisor, which runs the current build and rolls back a new one that does not connect',
  )
  .requiredOption('--data <dir>', 'agent data folder')
  .action(async (o: { data: string }) => {
    if (process.platform === 'linux') {
      const { runSupervisor } = await loadSupervisor();
      const stop = new AbortController();
      process.on('SIGINT', () => stop.abort());
      process.on('SIGTERM', () => stop.abort());
      process.exit(
        await runSupervisor({
          dataDir: resolve(o.data),
          log: new Logger('lr-agent-service'),
          self: selfCommand(),
          stopSignal: stop.signal,
        }),
      );
    }
    const { runAgentService } = await windows();
    process.exit(await runAgentService(win32Resolve(o.data)));
  });

/** How the supervisor runs this very file: the single executable alone, or Node with this script (from source). */
function selfCommand(): [string, ...string[]] {
  return isSeaBuild() ? [process.execPath] : [process.execPath, resolve(process.argv[1] as string)];
}

program.parseAsync(process.argv).catch((e: unknown) => {
  // Win32Error has a numeric code: only commander's string codes are looked at here.
  const code = (e as { code?: unknown }).code;
  if (code === 'commander.helpDisplayed' || code === 'commander.version') process.exit(0);
  if (typeof code === 'string' && code.startsWith('commander.')) process.exit(2);
  fail(PROG, e);
});
