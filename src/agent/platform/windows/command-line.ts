/**
 * Windows command lines for `run`. Windows hands a program ONE string; the program splits it itself. Most
 * programs (every C/C++ program through the MSVC runtime, .NET, PowerShell's -File arguments) split it by
 * the rules of CommandLineToArgvW, so each argv element is quoted for those rules here, and the agent
 * spawns with `windowsVerbatimArguments` so that nothing re-quotes the line. cmd.exe does not follow those
 * rules at all (it knows no backslash escape, and `& | < > ^ %` act even in arguments a batch file expands
 * unquoted): batch parameters holding cmd's metacharacters are refused instead of escaped.
 * Pure functions: no Node, no Win32 (unit-tested on Linux).
 */
import { batchParameterProblem } from '../../../shared/commands/library-rules.js';

/** Quotes one argv element so that CommandLineToArgvW (and the MSVC runtime) gives it back unchanged. */
export function quoteWindowsArgument(arg: string): string {
  if (arg !== '' && !/[ \t\n\v"]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes++;
      continue;
    }
    // Backslashes are literal unless they precede a quote: then each one is doubled, and the quote escaped.
    if (ch === '"') out += '\\'.repeat(backslashes * 2 + 1) + '"';
    else out += '\\'.repeat(backslashes) + ch;
    backslashes = 0;
  }
  // Before the closing quote, trailing backslashes would escape it: doubled.
  return `${out}${'\\'.repeat(backslashes * 2)}"`;
}

/**
 * Quotes the program name (argv[0]): CommandLineToArgvW reads it up to the next quote, with no backslash
 * escape, so it is quoted plainly. A Windows path cannot hold `"`.
 */
export function quoteProgramName(path: string): string {
  if (path.includes('"')) throw new Error(`a program path cannot contain a quote: ${path}`);
  return /[ \t]/.test(path) || path === '' ? `"${path}"` : path;
}

/** The whole command line of `argv` (program name first). */
export function windowsCommandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('a command line needs a program name');
  return [quoteProgramName(argv[0] as string), ...argv.slice(1).map(quoteWindowsArgument)].join(' ');
}

/**
 * Quotes one batch parameter for cmd.exe: cmd splits batch parameters on spaces, tabs, `,` `;` `=`, and a
 * quoted parameter reaches the script with its quotes (`%1`) or without (`%~1`). No escape exists for a
 * quote or a backslash: `batchParameterProblem` must have passed.
 */
export function quoteBatchParameter(arg: string): string {
  const problem = batchParameterProblem(arg);
  if (problem) throw new Error(problem);
  return arg === '' || /[ \t,;=]/.test(arg) ? `"${arg}"` : arg;
}

/** How the agent starts a process on Windows: the program, and its command line as Windows receives it. */
export interface WindowsLaunch {
  /** The program file (passed to CreateProcess as the application name: no PATH search by cmd). */
  file: string;
  /** argv[0] as it appears in the command line (quoted when needed). */
  argv0: string;
  /** The rest of the command line, one element per word, already quoted: spawn them verbatim. */
  args: string[];
  /** `argv0 args…`: the exact line the process receives. */
  commandLine: string;
}

function launch(file: string, quoted: string[]): WindowsLaunch {
  const argv0 = quoteProgramName(file);
  return { file, argv0, args: quoted, commandLine: [argv0, ...quoted].join(' ') };
}

/** A program run directly (an .exe of the library) with `argv`. */
export function directLaunch(file: string, argv: readonly string[]): WindowsLaunch {
  return launch(file, argv.map(quoteWindowsArgument));
}

/** `powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File <script> <args…>` (the reference's way). */
export function powershellLaunch(powershell: string, script: string, argv: readonly string[]): WindowsLaunch {
  return directLaunch(powershell, [
    '-NoProfile',
    '-NonInteractive',
    '-ExecutionPolicy',
    'Bypass',
    '-File',
    script,
    ...argv,
  ]);
}

/**
 * `cmd.exe /d /s /c ""<script>" <params…>"`: /d skips the AutoRun commands of the registry, /s makes cmd
 * remove exactly the outer pair of quotes, so the line inside runs as written. Throws (one line) when a
 * parameter or the script's path holds a cmd metacharacter.
 */
export function batchLaunch(cmd: string, script: string, argv: readonly string[]): WindowsLaunch {
  if (batchParameterProblem(script)) throw new Error(`the script's path cannot be given to cmd.exe: ${script}`);
  const inner = [`"${script}"`, ...argv.map(quoteBatchParameter)].join(' ');
  return launch(cmd, ['/d', '/s', '/c', `"${inner}"`]);
}
