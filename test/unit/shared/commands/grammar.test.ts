import { describe, expect, it } from 'vitest';
import {
  GrammarError,
  MAX_LINE_LENGTH,
  parseLine,
  quoteArg,
  tokenize,
} from '../../../../src/shared/commands/grammar.js';

/** The GrammarError message of parsing `line` (fails the test when it parses). */
function errorOf(line: string): string {
  try {
    parseLine(line);
  } catch (err) {
    expect(err).toBeInstanceOf(GrammarError);
    return (err as GrammarError).message;
  }
  throw new Error(`expected a GrammarError for ${JSON.stringify(line)}`);
}

describe('parseLine: words and quoting', () => {
  it('splits on whitespace and lower-cases the command name', () => {
    expect(parseLine('  GetFile   /var/log/auth.log\t')).toEqual({
      name: 'getfile',
      positionals: ['/var/log/auth.log'],
      named: {},
      background: false,
    });
  });

  it('groups words with double and single quotes, removing the quotes', () => {
    expect(parseLine('getfile "/tmp/a b.txt"').positionals).toEqual(['/tmp/a b.txt']);
    expect(parseLine("getfile '/tmp/a b.txt'").positionals).toEqual(['/tmp/a b.txt']);
  });

  it('keeps the other kind of quote literally inside a quoted part', () => {
    expect(parseLine(`findfile "it's here"`).positionals).toEqual(["it's here"]);
    expect(parseLine(`findfile 'say "hi"'`).positionals).toEqual(['say "hi"']);
  });

  it('joins a quoted part with the unquoted text around it', () => {
    expect(parseLine('findfile ab"c d"e').positionals).toEqual(['abc de']);
    expect(parseLine(`findfile "a"'"'"b"`).positionals).toEqual(['a"b']);
  });

  it('reads "" as an empty word', () => {
    expect(parseLine('findfile "" x').positionals).toEqual(['', 'x']);
    expect(parseLine("findfile ''").positionals).toEqual(['']);
  });

  it('keeps non-ASCII text as typed', () => {
    expect(parseLine('getfile "/home/zoë/Документы/报告 1.pdf"').positionals).toEqual([
      '/home/zoë/Документы/报告 1.pdf',
    ]);
    expect(parseLine('getfile /tmp/😀').positionals).toEqual(['/tmp/😀']);
    // A non-breaking space is not a separator.
    expect(parseLine('getfile a\u00a0b').positionals).toEqual(['a\u00a0b']);
  });

  it('keeps backslashes as literal characters, inside and outside quotes', () => {
    expect(parseLine('getfile C:\\Users\\x\\file.txt').positionals).toEqual(['C:\\Users\\x\\file.txt']);
    expect(parseLine('getfile "C:\\Program Files\\a.exe"').positionals).toEqual(['C:\\Program Files\\a.exe']);
    expect(parseLine('getfile a\\ b').positionals).toEqual(['a\\', 'b']);
    expect(parseLine('registry HKEY_LOCAL_MACHINE\\SYSTEM\\\\value').positionals).toEqual([
      'HKEY_LOCAL_MACHINE\\SYSTEM\\\\value',
    ]);
  });

  it('does not let a trailing backslash eat the closing quote', () => {
    expect(parseLine('dir "C:\\dir\\" -full_path')).toEqual({
      name: 'dir',
      positionals: ['C:\\dir\\'],
      named: { full_path: true },
      background: false,
    });
    expect(parseLine("dir 'C:\\dir\\'").positionals).toEqual(['C:\\dir\\']);
  });
});

describe('parseLine: parameters', () => {
  it('maps -name value and -flag using the catalog', () => {
    expect(parseLine('findfile "*.so" -path /tmp')).toMatchObject({ positionals: ['*.so'], named: { path: '/tmp' } });
    expect(parseLine('dir -full_path /etc')).toMatchObject({ positionals: ['/etc'], named: { full_path: true } });
    expect(parseLine('getfile -path "/tmp/a b.txt" -auto')).toMatchObject({
      positionals: [],
      named: { path: '/tmp/a b.txt', auto: true },
    });
  });

  it('lower-cases parameter names but keeps the case of values', () => {
    expect(parseLine('processes -NAME SSHD').named).toEqual({ name: 'SSHD' });
  });

  it('reads negative numbers and quoted dashes as values', () => {
    expect(parseLine('processes -pid -5').named).toEqual({ pid: '-5' });
    expect(parseLine('findfile -5').positionals).toEqual(['-5']);
    expect(parseLine('findfile "-x"').positionals).toEqual(['-x']);
    expect(parseLine("findfile -'x'").positionals).toEqual(['-x']);
    expect(parseLine('findfile -').positionals).toEqual(['-']);
    expect(parseLine('run tool.sh -parameters "-d /tmp"').named).toEqual({ parameters: '-d /tmp' });
  });

  it('reads unknown parameters and parameters of unknown commands as flags', () => {
    expect(parseLine('dir -foo bar')).toMatchObject({ positionals: ['bar'], named: { foo: true } });
    expect(parseLine('nosuch -x y')).toMatchObject({ name: 'nosuch', positionals: ['y'], named: { x: true } });
  });

  it('refuses a value-taking parameter without its value', () => {
    expect(errorOf('findfile x -path')).toBe('missing value for -path');
    expect(errorOf('findfile x -path -full_path')).toBe('missing value for -path');
    expect(errorOf('findfile x -path > out.txt')).toBe('missing value for -path');
    expect(errorOf('connections -output')).toBe('missing value for -output');
  });

  it('refuses a parameter given twice and --double-dash names', () => {
    expect(errorOf('processes -pid 1 -pid 2')).toBe('-pid given twice');
    expect(errorOf('dir -full_path -FULL_PATH')).toBe('-full_path given twice');
    expect(errorOf('dir --full_path')).toBe(
      'parameters take a single dash: use -full_path (or quote the value "--full_path")',
    );
    expect(parseLine('dir "--full_path"').positionals).toEqual(['--full_path']);
  });
});

describe('parseLine: output format', () => {
  it('reads -output json|table for any command, case-insensitively', () => {
    expect(parseLine('processes -output json').output).toBe('json');
    expect(parseLine('dir /etc -output TABLE')).toMatchObject({ positionals: ['/etc'], output: 'table' });
    expect(parseLine('processes -output json').named).toEqual({});
  });

  it('reads a trailing json/table as the format when the command has no positional', () => {
    expect(parseLine('connections json')).toMatchObject({ positionals: [], output: 'json' });
    expect(parseLine('processes table -name sshd')).toMatchObject({
      positionals: [],
      output: 'table',
      named: { name: 'sshd' },
    });
  });

  it('keeps json as a positional where the command takes positionals or is unknown', () => {
    expect(parseLine('dir json')).toMatchObject({ positionals: ['json'] });
    expect(parseLine('dir json').output).toBeUndefined();
    expect(parseLine('nosuch json').positionals).toEqual(['json']);
  });

  // `-id` takes a value because it is remediate's -target under the reference's name.
  it('reads an alias of a value-taking parameter as taking a value', () => {
    expect(parseLine('remediate -type file -id /tmp/x -auto')).toMatchObject({
      positionals: [],
      named: { type: 'file', id: '/tmp/x', auto: true },
    });
    expect(parseLine('remediate -type file -id "C:\\a b\\x.exe"').named.id).toBe('C:\\a b\\x.exe');
    expect(parseLine('processes -id 1').named).toEqual({ id: true });
  });

  it('refuses bad or repeated formats', () => {
    expect(errorOf('processes -output xml')).toBe('-output must be json or table, not "xml"');
    expect(errorOf('processes -output json -output table')).toBe('-output given twice');
    expect(errorOf('connections json -output table')).toBe('output format given twice');
  });
});

describe('parseLine: redirect and background', () => {
  it('reads > file with or without a space, keeping the file name case', () => {
    expect(parseLine('processes > Output.txt')).toMatchObject({
      name: 'processes',
      positionals: [],
      redirect: 'Output.txt',
      background: false,
    });
    expect(parseLine('processes >out.txt').redirect).toBe('out.txt');
    expect(parseLine('processes>out.txt').redirect).toBe('out.txt');
    expect(parseLine('processes > "my out.txt"').redirect).toBe('my out.txt');
  });

  it('reads a trailing & as its own word or attached', () => {
    expect(parseLine('getfile "C:\\windows\\some_file.exe" &')).toMatchObject({
      positionals: ['C:\\windows\\some_file.exe'],
      background: true,
    });
    expect(parseLine('getfile /tmp/x&')).toMatchObject({ positionals: ['/tmp/x'], background: true });
    expect(parseLine('getfile /tmp/x &  ').background).toBe(true);
    expect(parseLine('processes > out.txt &')).toMatchObject({ redirect: 'out.txt', background: true });
    expect(parseLine('processes >out.txt&')).toMatchObject({ redirect: 'out.txt', background: true });
  });

  it('keeps quoted > and & as text', () => {
    expect(parseLine('findfile "a>b" "c&d" \'&\'')).toMatchObject({
      positionals: ['a>b', 'c&d', '&'],
      background: false,
    });
    expect(parseLine('findfile "a>b"').redirect).toBeUndefined();
  });

  it('refuses misplaced operators', () => {
    expect(errorOf('processes >')).toBe("unexpected '>' without a file name");
    expect(errorOf('processes > &')).toBe("unexpected '>' without a file name");
    expect(errorOf('processes > ""')).toBe("empty file name after '>'");
    expect(errorOf('processes > a b')).toBe("only one file name may follow '>' (quote names with spaces)");
    expect(errorOf('processes > a > b')).toBe("only one '>' is allowed");
    expect(errorOf('processes >> a')).toBe("'>>' (append) is not supported: use '> file'");
    expect(errorOf('getfile a&b')).toBe("unexpected '&': it may only end the line (quote it to use it in a value)");
    expect(errorOf('getfile x & > out.txt')).toBe(
      "unexpected '&': it may only end the line (quote it to use it in a value)",
    );
    expect(errorOf('getfile x&&')).toBe("unexpected '&': it may only end the line (quote it to use it in a value)");
  });
});

describe('parseLine: errors', () => {
  it('refuses empty lines and lines without a command', () => {
    expect(errorOf('')).toBe('empty command');
    expect(errorOf('   \t ')).toBe('empty command');
    expect(errorOf('&')).toBe('empty command');
    expect(errorOf('> out.txt')).toBe('empty command');
    expect(errorOf('"" x')).toBe('empty command');
    expect(errorOf('-output json')).toBe('expected a command name before "-output"');
  });

  it('refuses unterminated quotes', () => {
    expect(errorOf('getfile "/tmp/a b')).toBe('unterminated quote "');
    expect(errorOf("getfile '/tmp/a b")).toBe("unterminated quote '");
    expect(errorOf(`getfile "it's`)).toBe('unterminated quote "');
  });

  it('refuses lines over the length limit, counted in characters', () => {
    expect(errorOf(`findfile ${'a'.repeat(MAX_LINE_LENGTH)}`)).toBe(
      'command line is 8201 characters; the limit is 8192',
    );
    const atLimit = `findfile ${'a'.repeat(MAX_LINE_LENGTH - 9)}`;
    expect(parseLine(atLimit).positionals[0]).toHaveLength(MAX_LINE_LENGTH - 9);
    // 8192 emoji are 16384 UTF-16 units but 8192 characters: allowed (command name + space included below).
    const emoji = `findfile ${'😀'.repeat(MAX_LINE_LENGTH - 9)}`;
    expect(parseLine(emoji).positionals[0]).toHaveLength(2 * (MAX_LINE_LENGTH - 9));
  });

  it('refuses NUL characters', () => {
    expect(errorOf('getfile a\u0000b')).toBe('NUL character in command line');
  });

  it('gives one-line messages that escape control characters from the input', () => {
    const message = errorOf('processes -output "x\ny\u001b[31m"');
    expect(message).toBe('-output must be json or table, not "x\\x0ay\\x1b[31m"');
    expect(message).not.toMatch(/[\n\r\u001b]/);
    expect(new GrammarError('a\nb').message).toBe('a\\x0ab');
  });

  it('cuts long input quoted in messages', () => {
    const message = errorOf(`processes -output ${'x'.repeat(500)}`);
    expect(message.length).toBeLessThan(120);
  });
});

describe('tokenize', () => {
  it('gives the source range of each word, quotes included', () => {
    const { tokens, openQuote } = tokenize('getfile "a b" >c&');
    expect(openQuote).toBeUndefined();
    expect(tokens.map((t) => [t.kind, t.text, t.start, t.end, t.quoted])).toEqual([
      ['word', 'getfile', 0, 7, false],
      ['word', 'a b', 8, 13, true],
      ['redirect', '>', 14, 15, false],
      ['word', 'c', 15, 16, false],
      ['background', '&', 16, 17, false],
    ]);
  });

  it('reports an open quote without throwing', () => {
    const { tokens, openQuote } = tokenize('getfile "/tmp/a b');
    expect(openQuote).toBe('"');
    expect(tokens[1]).toMatchObject({ text: '/tmp/a b', start: 8, end: 17 });
  });
});

describe('quoteArg', () => {
  const samples = [
    'plain',
    '',
    'a b',
    "it's",
    'say "hi"',
    `a"b'c`,
    `"'`,
    '-x',
    '--x',
    'a>b',
    'x&',
    'C:\\dir\\',
    'C:\\a b\\',
    '报告 1',
    '"',
    "'",
    '\t',
  ];
  it.each(samples)('round-trips %j through parseLine', (value) => {
    expect(parseLine(`findfile ${quoteArg(value)}`).positionals).toEqual([value]);
  });

  it('leaves plain words alone', () => {
    expect(quoteArg('/var/log/auth.log')).toBe('/var/log/auth.log');
    expect(quoteArg('C:\\Users\\x')).toBe('C:\\Users\\x');
  });
});
