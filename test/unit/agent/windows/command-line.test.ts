// Windows command lines built by `run`: every argv element must come back unchanged from the program's
// own parsing. The parser below implements the documented rules of CommandLineToArgvW / the MSVC runtime
// ("Parsing C++ command-line arguments"), independently of the quoting code, and every string of a small
// alphabet of the troublesome characters (space, tab, backslash, quote) up to six characters long is
// round-tripped through it. cmd.exe's own rules are tested separately: batch parameters are refused
// when they hold a metacharacter, never escaped.
import { describe, expect, it } from 'vitest';
import { batchParameterProblem, batchParametersProblem } from '../../../../src/shared/commands/library-rules.js';
import {
  batchLaunch,
  directLaunch,
  powershellLaunch,
  quoteBatchParameter,
  quoteProgramName,
  quoteWindowsArgument,
  windowsCommandLine,
} from '../../../../src/agent/platform/windows/command-line.js';

/** CommandLineToArgvW's rules (post-2008 MSVC runtime), written from the documentation. */
function parseCommandLine(line: string): string[] {
  const args: string[] = [];
  let i = 0;
  // The program name: up to the next quote when quoted (no escapes), else up to white space.
  if (line.startsWith('"')) {
    const end = line.indexOf('"', 1);
    args.push(line.slice(1, end < 0 ? undefined : end));
    i = end < 0 ? line.length : end + 1;
  } else {
    while (i < line.length && line[i] !== ' ' && line[i] !== '\t') i++;
    args.push(line.slice(0, i));
  }
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let arg = '';
    let quoted = false;
    while (i < line.length) {
      const c = line[i]!;
      if (!quoted && (c === ' ' || c === '\t')) break;
      if (c === '\\') {
        let n = 0;
        while (line[i] === '\\') {
          n++;
          i++;
        }
        if (line[i] === '"') {
          // 2n backslashes + quote: n backslashes, the quote toggles; 2n+1: n backslashes and a literal quote.
          arg += '\\'.repeat(Math.floor(n / 2));
          if (n % 2 === 1) {
            arg += '"';
            i++;
          }
        } else arg += '\\'.repeat(n);
        continue;
      }
      if (c === '"') {
        if (quoted && line[i + 1] === '"') {
          arg += '"'; // "" inside quotes: a literal quote, still quoted
          i += 2;
          continue;
        }
        quoted = !quoted;
        i++;
        continue;
      }
      arg += c;
      i++;
    }
    args.push(arg);
  }
  return args;
}

/** Every string of `alphabet` up to `max` characters long. */
function* allStrings(alphabet: string[], max: number): Generator<string> {
  let layer = [''];
  yield '';
  for (let len = 1; len <= max; len++) {
    const next: string[] = [];
    for (const s of layer) for (const c of alphabet) next.push(s + c);
    yield* next;
    layer = next;
  }
}

describe('the test parser follows the documented examples', () => {
  // The table of "Parsing C++ command-line arguments" (Microsoft Learn), program name "p" prepended.
  it.each([
    ['"a b c" d e', ['a b c', 'd', 'e']],
    ['"ab\\"c" "\\\\" d', ['ab"c', '\\', 'd']],
    ['a\\\\\\b d"e f"g h', ['a\\\\\\b', 'de fg', 'h']],
    ['a\\\\\\"b c d', ['a\\"b', 'c', 'd']],
    ['a\\\\\\\\"b c" d e', ['a\\\\b c', 'd', 'e']],
    ['a"b"" c d', ['ab" c d']],
  ])('%s', (line, argv) => {
    expect(parseCommandLine(`p ${line}`)).toEqual(['p', ...argv]);
  });
});

describe('quoteWindowsArgument', () => {
  it('leaves plain words alone and quotes what needs it', () => {
    expect(quoteWindowsArgument('abc')).toBe('abc');
    expect(quoteWindowsArgument('C:\\dir\\')).toBe('C:\\dir\\'); // no quotes: backslashes are literal
    expect(quoteWindowsArgument('')).toBe('""');
    expect(quoteWindowsArgument('a b')).toBe('"a b"');
    expect(quoteWindowsArgument('a\tb')).toBe('"a\tb"');
    expect(quoteWindowsArgument('a"b')).toBe('"a\\"b"');
    expect(quoteWindowsArgument('a\\"b')).toBe('"a\\\\\\"b"');
    // A trailing backslash inside quotes would escape the closing quote: doubled.
    expect(quoteWindowsArgument('C:\\my dir\\')).toBe('"C:\\my dir\\\\"');
    expect(quoteWindowsArgument('C:\\my dir\\\\')).toBe('"C:\\my dir\\\\\\\\"');
    expect(quoteWindowsArgument('\\\\server\\share x')).toBe('"\\\\server\\share x"'); // not before a quote: unchanged
  });

  it('round-trips every string of space, tab, backslash, quote and a letter up to 6 characters, alone and between neighbours', () => {
    let n = 0;
    const wrong: string[] = [];
    for (const arg of allStrings(['a', ' ', '\t', '\\', '"'], 6)) {
      for (const argv of [
        ['p.exe', arg],
        ['C:\\Program Files\\p.exe', arg, `${arg}\\`, '', arg],
      ]) {
        const line = windowsCommandLine(argv);
        if (JSON.stringify(parseCommandLine(line)) !== JSON.stringify(argv))
          wrong.push(`${JSON.stringify(argv)} → ${line}`);
      }
      n++;
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(n).toBe(19_531);
  });

  it('round-trips other characters too (non-ASCII, line breaks, quotes alone)', () => {
    const argv = ['p', 'é ü', '日本語', 'a\nb', 'x\vy', '"', '""', '\\"', ' ', '\\', '-File', 'C:\\x y\\z.ps1'];
    expect(parseCommandLine(windowsCommandLine(argv))).toEqual(argv);
  });
});

describe('program names', () => {
  it('are quoted plainly (CommandLineToArgvW reads them without escapes) and may not hold a quote', () => {
    expect(quoteProgramName('C:\\Windows\\System32\\cmd.exe')).toBe('C:\\Windows\\System32\\cmd.exe');
    expect(quoteProgramName('C:\\Program Files\\x\\')).toBe('"C:\\Program Files\\x\\"');
    expect(parseCommandLine(`${quoteProgramName('C:\\Program Files\\x\\')} a`)).toEqual([
      'C:\\Program Files\\x\\',
      'a',
    ]);
    expect(() => quoteProgramName('C:\\a"b.exe')).toThrow('a program path cannot contain a quote');
  });
});

describe('launch lines', () => {
  const script = 'C:\\ProgramData\\lr agent\\tmp\\run-Ab12\\collect.ps1';
  const powershell = 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe';

  it('.ps1: powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File <script> <args…>, exactly', () => {
    const l = powershellLaunch(powershell, script, ['-Path', 'C:\\Users\\a b\\', '', 'say "hi"']);
    expect(l.file).toBe(powershell);
    expect(l.argv0).toBe(powershell);
    expect(l.commandLine).toBe(
      'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "C:\\ProgramData\\lr agent\\tmp\\run-Ab12\\collect.ps1" -Path "C:\\Users\\a b\\\\" "" "say \\"hi\\""',
    );
    expect(l.commandLine).toBe([l.argv0, ...l.args].join(' '));
    expect(parseCommandLine(l.commandLine)).toEqual([
      powershell,
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-File',
      script,
      '-Path',
      'C:\\Users\\a b\\',
      '',
      'say "hi"',
    ]);
  });

  it('.exe: the program itself, each argument quoted for CommandLineToArgvW', () => {
    const exe = 'C:\\ProgramData\\lr agent\\tmp\\run-Ab12\\tool.exe';
    const l = directLaunch(exe, ['/x', 'a b', 'c"d']);
    expect(l.commandLine).toBe('"C:\\ProgramData\\lr agent\\tmp\\run-Ab12\\tool.exe" /x "a b" "c\\"d"');
    expect(parseCommandLine(l.commandLine)).toEqual([exe, '/x', 'a b', 'c"d']);
  });

  it('.bat: cmd.exe /d /s /c with the whole line in one pair of quotes; parameters with separators quoted', () => {
    const bat = 'C:\\ProgramData\\lr agent\\tmp\\run-Ab12\\collect.bat';
    const l = batchLaunch('C:\\Windows\\System32\\cmd.exe', bat, ['a b', 'plain', '', 'k=v', 'x,y', 'C:\\dir\\', 'é']);
    expect(l.args).toEqual([
      '/d',
      '/s',
      '/c',
      '""C:\\ProgramData\\lr agent\\tmp\\run-Ab12\\collect.bat" "a b" plain "" "k=v" "x,y" C:\\dir\\ é"',
    ]);
    expect(l.commandLine).toBe(`C:\\Windows\\System32\\cmd.exe ${l.args.join(' ')}`);
  });

  it('.bat: refuses a script path cmd would expand', () => {
    expect(() => batchLaunch('cmd.exe', 'C:\\a%PATH%\\x.bat', [])).toThrow(
      "the script's path cannot be given to cmd.exe: C:\\a%PATH%\\x.bat",
    );
  });
});

describe('batch parameters', () => {
  it.each(['&', '|', '<', '>', '^', '%', '!', '"', '(', ')'])('refuses %s, alone or inside a word', (ch) => {
    for (const arg of [ch, `a${ch}b`, `"${ch}"`]) {
      expect(batchParameterProblem(arg), arg).toMatch(/^parameters of a \.bat\/\.cmd script may not contain /);
      expect(() => quoteBatchParameter(arg)).toThrow(/may not contain/);
    }
    expect(batchParameterProblem(`x${ch}`)).toBe(
      `parameters of a .bat/.cmd script may not contain ${ch} (cmd.exe would read it as batch syntax; refused: & | < > ^ % ! " ( ) and control characters but tab)`,
    );
  });

  it('refuses line breaks and other control characters, named', () => {
    expect(batchParameterProblem('a\nb')).toMatch(/may not contain control character 0x0a/);
    expect(batchParameterProblem('a\rb')).toMatch(/may not contain control character 0x0d/);
    expect(batchParameterProblem('a\x1ab')).toMatch(/may not contain control character 0x1a/);
    expect(batchParameterProblem('a\x00b')).toMatch(/may not contain control character 0x00/);
  });

  it('accepts paths, switches, spaces, tabs and non-ASCII', () => {
    for (const arg of ['C:\\Program Files\\x', '/s', '-n', 'a\tb', 'ü', '', 'k=v', '\\\\srv\\share\\'])
      expect(batchParameterProblem(arg), arg).toBeNull();
    expect(quoteBatchParameter('a\tb')).toBe('"a\tb"');
  });

  it('are checked word by word after the console splits -parameters (what the service and the agent check)', () => {
    expect(batchParametersProblem(`a 'b c' C:\\x\\`)).toBeNull();
    expect(batchParametersProblem('a %PATH%')).toMatch(/^run: parameters of a \.bat\/\.cmd script may not contain % /);
    expect(batchParametersProblem(`'x) else (calc'`)).toMatch(/may not contain \)/);
    expect(batchParametersProblem(`'say "hi"'`)).toMatch(/may not contain "/);
    expect(batchParametersProblem('a>b')).toMatch(/may not contain >/);
  });
});
