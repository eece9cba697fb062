/**
 * run: runs a library script or executable on the device. The agent trusts nothing it is sent: it
 * fetches the file into a private temp folder (or copies the working-folder copy when its SHA-256
 * matches), checks the publisher's Ed25519 signature against the bytes it is about to run (or that the
 * tenant allows unsigned files), re-checks the reference's forbidden characters, splits -parameters into
 * an argv array with the console's tokenizer (never a shell), and runs the interpreter of the script's
 * extension, or, for any other name, the file itself once it is checked to be an ELF executable for this
 * machine (Linux). On Windows: `.ps1` through Windows PowerShell, `.bat`/`.cmd` through cmd.exe (batch
 * metacharacters refused in the parameters), `.exe` directly once checked to be a PE executable for this
 * machine; the command line is quoted by the agent and passed verbatim. Output is streamed; cancel and time
 * limit kill the whole process tree (a Job Object on Windows).
 */
import { constants as fsc, createReadStream, createWriteStream } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { delimiter, join, win32 as winPath } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { commandSpec } from '../../shared/commands/catalog.js';
import { paramsSchema } from '../../shared/commands/command-params.js';
import {
  batchParametersProblem,
  isNativeRunner,
  libraryNameProblem,
  libraryRunner,
  scriptExtension,
  ScriptParametersError,
  splitScriptParameters,
} from '../../shared/commands/library-rules.js';
import { DigestStream } from '../../node/digest-stream.js';
import { verifyScriptSignature } from '../../node/script-signature.js';
import { CommandError, defineCommand } from '../command.js';
import { agentPaths } from '../config.js';
import { downloadFromService, type Downloaded } from '../service-download.js';
import { elfProblem } from '../elf-check.js';
import { peFileProblem } from '../pe-check.js';
import { batchLaunch, directLaunch, powershellLaunch, type WindowsLaunch } from '../platform/windows/command-line.js';
import { runScriptProcess } from '../script-process.js';
import { fileEnvironment, libraryFileParams } from './putfile.js';
import { describeError } from '../../shared/errors.js';

/** Finds an executable on PATH (the interpreters are looked up, never run through a shell). */
async function findExecutable(name: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    const ok = await access(candidate, fsc.X_OK).then(
      () => true,
      () => false,
    );
    if (ok) return candidate;
  }
  return null;
}

/** Interpreter argv before the script path. */
function interpreterArgs(interpreter: string): string[] {
  return interpreter === 'pwsh' ? ['-NoProfile', '-NonInteractive', '-File'] : [];
}

/** Why `runner` cannot run on this device's OS, or null. */
export function runnerPlatformProblem(name: string, runner: string, platform: NodeJS.Platform): string | null {
  if (platform === 'win32') {
    if (runner === 'native-elf')
      return `run: ${name}: on Windows devices only .exe files run as executables (a file without an extension is taken as a Linux executable)`;
    if (runner === 'bash' || runner === 'python3')
      return `run: ${name}: ${scriptExtension(name)} scripts run on Linux and macOS devices only; on Windows use .ps1, .bat, .cmd or .exe`;
    return null;
  }
  if (runner === 'cmd') return `run: ${name}: a Windows batch file cannot run on this ${platform} device`;
  if (runner === 'native-pe') return `run: ${name}: a Windows executable cannot run on this ${platform} device`;
  if (runner === 'native-elf' && platform !== 'linux')
    return `run: ${name}: executables run on Linux devices only (this one is ${platform})`;
  return null;
}

/**
 * Windows' own folder, from SystemRoot (set by Windows for every process, services included): the
 * interpreters are taken from there, never looked up on PATH, where a writable folder could shadow them.
 */
function windowsSystem32(): string {
  const root = process.env.SystemRoot ?? process.env.windir ?? '';
  return winPath.join(/^[A-Za-z]:\\[^"%]*$/.test(root) ? root : 'C:\\Windows', 'System32');
}

/** The Windows interpreter of a runner (absolute path). */
function windowsInterpreter(runner: string): string {
  return runner === 'pwsh'
    ? winPath.join(windowsSystem32(), 'WindowsPowerShell', 'v1.0', 'powershell.exe')
    : winPath.join(windowsSystem32(), 'cmd.exe');
}

/** The command line of a Windows run, as a pure description (what is spawned, quoted once, verbatim). */
function windowsLaunchOf(
  runner: string,
  interpreter: string | null,
  scriptPath: string,
  argv: string[],
): WindowsLaunch {
  if (runner === 'native-pe') return directLaunch(scriptPath, argv);
  if (runner === 'pwsh') return powershellLaunch(interpreter as string, scriptPath, argv);
  return batchLaunch(interpreter as string, scriptPath, argv);
}

/** Copies the working-folder copy when it is the library's file; null when absent or different. */
async function copyFromWorkFolder(
  source: string,
  dest: string,
  expected: { sha256: string; size: number },
): Promise<Downloaded | null> {
  const st = await stat(source).catch(() => null);
  if (!st?.isFile() || st.size !== expected.size) return null;
  const digest = new DigestStream(expected.size);
  try {
    await pipeline(createReadStream(source), digest, createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
  } catch {
    await rm(dest, { force: true });
    return null;
  }
  const got = { sha256: digest.sha256(), size: digest.bytes };
  if (got.sha256 !== expected.sha256) {
    await rm(dest, { force: true });
    return null;
  }
  return got;
}

export const runCommand = defineCommand({
  spec: commandSpec('run'),
  schema: paramsSchema(commandSpec('run')).extend({
    script: z.string().refine((n) => libraryNameProblem(n) === null, 'not a library file name'),
    parameters: z.string().max(8192).optional(), // may be empty (`-parameters ""`)
    ...libraryFileParams,
    _signature: z.string().max(200).optional(),
    _publisherKey: z.string().max(4096).optional(),
    _allowUnsigned: z.boolean().optional(),
  }),
  async run(ctx, params) {
    const name = params.script;
    const { dataDir, service } = fileEnvironment(ctx, 'run');

    // Checked here again, whatever the service did: the device is the last line of defence.
    let argv: string[];
    try {
      argv = splitScriptParameters(params.parameters ?? '');
    } catch (e) {
      if (e instanceof ScriptParametersError) throw new CommandError(e.message);
      throw e;
    }
    const interpreter = libraryRunner(name);
    const native = isNativeRunner(interpreter);
    const windows = process.platform === 'win32';
    // Whatever the service checked, and on any OS (a batch file's parameters are never safe to pass on).
    const batchProblem = interpreter === 'cmd' ? batchParametersProblem(params.parameters ?? '') : null;
    if (batchProblem) throw new CommandError(batchProblem);
    const unsupported = runnerPlatformProblem(name, interpreter, process.platform);
    if (unsupported) throw new CommandError(unsupported);
    if (!params._signature && params._allowUnsigned !== true) {
      throw new CommandError(`run: ${name} is not signed and unsigned scripts are not allowed on this tenant`);
    }
    let interpreterPath: string | null = null;
    if (!native && windows) {
      interpreterPath = windowsInterpreter(interpreter);
      if (!(await stat(interpreterPath).catch(() => null))?.isFile()) {
        throw new CommandError(
          `run: ${winPath.basename(interpreterPath)} is not installed on this device (needed for ${scriptExtension(name)} scripts)`,
        );
      }
    } else if (!native) {
      interpreterPath = await findExecutable(interpreter);
      if (!interpreterPath)
        throw new CommandError(
          `run: ${interpreter} is not installed on this device (needed for ${scriptExtension(name)} scripts)`,
        );
    }
    const cwd = await stat(ctx.cwd).catch(() => null);
    if (!cwd?.isDirectory())
      throw new CommandError(`run: the current directory ${ctx.cwd} does not exist any more (cd elsewhere first)`);

    // A private folder per run: the bytes checked below are the bytes the interpreter reads.
    const tmpRoot = join(dataDir, 'tmp');
    await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
    const folder = await mkdtemp(join(tmpRoot, 'run-'));
    try {
      const scriptPath = join(folder, name);
      const expected = { sha256: params._sha256, size: params._size };
      const got =
        (await copyFromWorkFolder(join(agentPaths(dataDir).work, name), scriptPath, expected)) ??
        (await downloadFromService(params._url, scriptPath, {
          service,
          size: params._size,
          signal: ctx.signal,
          command: 'run',
          what: name,
        }));
      if (ctx.signal.aborted) return;

      if (params._signature) {
        if (!params._publisherKey)
          throw new CommandError(`run: ${name}: the service sent a signature without its publisher's key`);
        if (
          !verifyScriptSignature(params._publisherKey, { name, sha256: got.sha256, size: got.size }, params._signature)
        ) {
          throw new CommandError(
            `run: signature check failed for ${name}: the file, its name or its interpreter does not match its signature`,
          );
        }
      }
      if (got.sha256 !== expected.sha256 || got.size !== expected.size) {
        throw new CommandError(
          `run: ${name}: the downloaded file does not match the library (sha256 ${got.sha256}, expected ${expected.sha256})`,
        );
      }

      if (native) {
        // Checked on the verified bytes, in the private folder nobody else can write to.
        const problem = windows ? await peFileProblem(scriptPath) : await elfProblem(scriptPath);
        if (problem) throw new CommandError(`run: ${name} is ${problem}: refused`);
        if (!windows) await chmod(scriptPath, 0o700);
      }
      let launch: WindowsLaunch | null = null;
      if (windows) {
        try {
          launch = windowsLaunchOf(interpreter, interpreterPath, scriptPath, argv);
        } catch (e) {
          throw new CommandError(`run: ${describeError(e)}`);
        }
      }
      ctx.trace(
        'info',
        `running ${native ? 'executable' : interpreter} ${name} with ${argv.length} argument(s) in ${ctx.cwd}${launch ? `: ${launch.commandLine}` : ''}`,
      );
      const result = await runScriptProcess({
        ...(launch
          ? { command: launch.file, args: launch.args, verbatim: { argv0: launch.argv0 } }
          : {
              command: native ? scriptPath : (interpreterPath as string),
              args: native ? argv : [...interpreterArgs(interpreter), scriptPath, ...argv],
            }),
        cwd: ctx.cwd,
        signal: ctx.signal,
        output: (text) => ctx.text(text),
        onTrackProblem: (problem) =>
          ctx.trace('warn', `run: ${name}: ${problem}: cancel may end the script's own process only`),
      }).catch((e: Error) => {
        throw new CommandError(`run: cannot start ${native ? name : interpreter}: ${e.message}`);
      });
      if (result.aborted) return; // the runner reports cancelled / timed out
      await ctx.emit({
        script: name,
        exitCode: result.exitCode,
        signal: result.signal,
        durationMs: result.durationMs,
        stdoutBytes: result.stdoutBytes,
        stderrBytes: result.stderrBytes,
      });
      if (result.signal) throw new CommandError(`run: ${name} was killed by ${result.signal}`);
      if (result.exitCode !== 0) throw new CommandError(`run: ${name} exited with code ${result.exitCode}`);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  },
});
