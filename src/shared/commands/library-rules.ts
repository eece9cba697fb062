/**
 * Rules of the script library shared by the service (upload, preparers), the agent (putfile, run: it
 * re-checks everything it is sent) and the clients (early refusal): file names, the reference's forbidden
 * characters in script parameters, script interpreters, and how `-parameters` becomes an argv array.
 * Pure TypeScript: no Node.
 */
import { tokenize } from './grammar.js';

export const LIBRARY_NAME_MAX = 128;

/** Letters, digits, `- _ .`; not starting with a dot (no hidden files on devices, no `.`/`..`). */
const LIBRARY_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Why `name` is not a valid library file name, or null when it is. */
export function libraryNameProblem(name: string): string | null {
  if (name === '') return 'the name is empty';
  if (name.length > LIBRARY_NAME_MAX) return `the name is longer than ${LIBRARY_NAME_MAX} characters`;
  if (!LIBRARY_NAME.test(name) || name.includes('..')) {
    return 'library file names may contain only letters, digits, - _ . (not starting with a dot, no ..)';
  }
  return null;
}

/** Publisher names (trusted signing keys): short and plain, they appear in listings and errors. */
export const PUBLISHER_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/** The reference console refuses script parameters holding any of these (shell metacharacters). */
export const FORBIDDEN_PARAMETER_CHARS: readonly string[] = [';', '&', '|', '!', '$'];

export const FORBIDDEN_PARAMETERS_MESSAGE = 'run: parameters may not contain ; & | ! $';

export function hasForbiddenParameterChars(parameters: string): boolean {
  return FORBIDDEN_PARAMETER_CHARS.some((c) => parameters.includes(c));
}

/**
 * Interpreter of a script, by extension. `pwsh` names the PowerShell language: Linux devices run it with
 * PowerShell 7 (`pwsh`), Windows devices with Windows PowerShell (`powershell.exe`). `cmd` (batch files)
 * runs on Windows devices only; `bash` and `python3` on Linux and macOS devices only.
 */
export const SCRIPT_INTERPRETERS: Readonly<Record<string, string>> = {
  '.sh': 'bash',
  '.py': 'python3',
  '.ps1': 'pwsh',
  '.bat': 'cmd',
  '.cmd': 'cmd',
};

export function scriptExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot).toLowerCase();
}

/** `bash`, `python3`, `pwsh`, `cmd`, or null when the file is not a script `run` knows. */
export function scriptInterpreter(name: string): string | null {
  return SCRIPT_INTERPRETERS[scriptExtension(name)] ?? null;
}

/**
 * What runs a library file, by its name: a script's interpreter, or, for every other name, the kernel
 * itself: `native-pe` for `.exe` (Windows), `native-elf` otherwise (the agent then checks the bytes
 * really are an ELF executable for its machine). This is what a script signature signs as the file's
 * interpreter, so a signed executable renamed to `x.sh` (or a signed script renamed to drop its
 * extension) loses its signature.
 */
export function libraryRunner(name: string): string {
  if (scriptExtension(name) === '.exe') return 'native-pe';
  return scriptInterpreter(name) ?? 'native-elf';
}

/** Whether `run` executes this library file directly (an executable) rather than through an interpreter. */
export function isNativeRunner(runner: string): boolean {
  return runner.startsWith('native-');
}

/** Reference wording (the reference product's French setting "Autoriser l'utilisation de scripts non signés…"). */
export const UNSIGNED_SCRIPTS_WARNING = 'Allowing the use of unsigned scripts may increase your exposure to threats.';

export class ScriptParametersError extends Error {
  override name = 'ScriptParametersError';
}

/**
 * Splits `-parameters` into argv words with the console's own tokenizer, so quoting is the same as in
 * command lines: `"-n hello world"` → `-n`, `hello`, `world`; `'a b' c` → `a b`, `c`. The tokenizer
 * treats `>` as an operator; here nothing is a shell, so touching pieces are joined back (`a>b` is one
 * word) and a lone `>` is a word of its own.
 */
export function splitScriptParameters(parameters: string): string[] {
  if (hasForbiddenParameterChars(parameters)) throw new ScriptParametersError(FORBIDDEN_PARAMETERS_MESSAGE);
  const { tokens, openQuote } = tokenize(parameters);
  if (openQuote) throw new ScriptParametersError(`run: unterminated quote ${openQuote} in -parameters`);
  const words: string[] = [];
  let lastEnd = -1;
  for (const token of tokens) {
    if (token.start === lastEnd && words.length > 0) words[words.length - 1] += token.text;
    else words.push(token.text);
    lastEnd = token.end;
  }
  return words;
}

/**
 * Characters refused in the parameters of a .bat/.cmd script. cmd.exe expands `%1` (and `%~1`, quotes
 * removed) before it parses a line, so whatever the parameter holds becomes batch syntax: `&`, `|`, `<`,
 * `>` chain or redirect commands, `^` escapes, `%` and `!` expand variables, `(`/`)` end an `if`/`for`
 * block early (`) else (…`), a `"` changes what is quoted, and a line break ends the line (a tab is a mere separator).
 */
const BATCH_METACHARACTERS = /[&|<>^%!"()]/;

/** Why one argv word cannot be passed safely to a batch file, or null. */
export function batchParameterProblem(arg: string): string | null {
  // Control characters but tab first (a line break ends cmd's line), then the metacharacters.
  const bad = /[\x00-\x08\x0a-\x1f\x7f]/.exec(arg) ?? BATCH_METACHARACTERS.exec(arg);
  if (!bad) return null;
  const ch = bad[0];
  const shown =
    ch < ' ' || ch === '\x7f' ? `control character 0x${ch.charCodeAt(0).toString(16).padStart(2, '0')}` : ch;
  return `parameters of a .bat/.cmd script may not contain ${shown} (cmd.exe would read it as batch syntax; refused: & | < > ^ % ! " ( ) and control characters but tab)`;
}

/**
 * Why `-parameters` cannot be given to a .bat/.cmd script, or null: each word is checked. Checked by the
 * service (early refusal) and again by the agent. An unterminated quote is left to splitScriptParameters.
 */
export function batchParametersProblem(parameters: string): string | null {
  let words: string[];
  try {
    words = splitScriptParameters(parameters);
  } catch {
    return null;
  }
  for (const word of words) {
    const problem = batchParameterProblem(word);
    if (problem) return `run: ${problem}`;
  }
  return null;
}
