import { describe, expect, it } from 'vitest';
import { bindParams, formatUsage } from '../../../../src/shared/commands/bind.js';
import { CATALOG, findCommand, type CommandSpec } from '../../../../src/shared/commands/catalog.js';
import { GrammarError, parseLine } from '../../../../src/shared/commands/grammar.js';
import type { ParsedLine } from '../../../../src/shared/commands/grammar-types.js';

function specOf(name: string): CommandSpec {
  const spec = findCommand(name);
  if (!spec) throw new Error(`no catalog entry ${name}`);
  return spec;
}

function bind(line: string): ReturnType<typeof bindParams> {
  const parsed = parseLine(line);
  return bindParams(specOf(parsed.name), parsed);
}

function bindError(line: string): string {
  try {
    bind(line);
  } catch (err) {
    expect(err).toBeInstanceOf(GrammarError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`expected a GrammarError for ${JSON.stringify(line)}`);
}

describe('bindParams', () => {
  it('maps positionals to their catalog names by position', () => {
    expect(bind('getfile /var/log/auth.log')).toEqual({ path: '/var/log/auth.log' });
    expect(bind('library delete script.sh')).toEqual({ action: 'delete', name: 'script.sh' });
    expect(bind('analyze file /tmp/x')).toEqual({ type: 'file', target: '/tmp/x' });
  });

  it('merges named parameters and flags', () => {
    expect(bind('getfile -path "/tmp/a b" -auto')).toEqual({ path: '/tmp/a b', auto: true });
    expect(bind('analyze -target /tmp/x file')).toEqual({ type: 'file', target: '/tmp/x' });
    expect(bind('dir /etc -full_path')).toEqual({ path: '/etc', full_path: true });
    expect(bind('putfile tool.sh -overwrite -keep')).toEqual({ name: 'tool.sh', overwrite: true, keep: true });
    expect(bind('dir')).toEqual({});
  });

  it('converts ints and accepts negative ones', () => {
    expect(bind('processes -pid 42')).toEqual({ pid: 42 });
    expect(bind('processes -pid -1')).toEqual({ pid: -1 });
  });

  it('matches enum values case-insensitively and binds the catalog spelling', () => {
    expect(bind('trace DEBUG')).toEqual({ level: 'debug' });
    expect(bind('scan Quick -path /tmp')).toEqual({ mode: 'quick', path: '/tmp' });
  });

  it('keeps -output out of the bound parameters', () => {
    expect(bind('processes -name sshd -output json')).toEqual({ name: 'sshd' });
    expect(bind('connections json')).toEqual({});
  });

  it('refuses unknown parameters', () => {
    expect(bindError('dir -foo')).toBe('dir: unknown parameter -foo');
    expect(bindError('dir -foo bar')).toBe('dir: unknown parameter -foo');
    expect(bindError('dir -id x')).toBe('dir: unknown parameter -id');
  });

  // The reference writes `remediate -type file -id PATH -auto`.
  it("binds the reference's named form -type/-id/-auto, keeping the short forms", () => {
    expect(bind('remediate -type file -id "C:\\Users\\x\\evil.exe" -auto')).toEqual({
      type: 'file',
      target: 'C:\\Users\\x\\evil.exe',
      auto: true,
    });
    expect(bind('remediate -type process -id 1234')).toEqual({ type: 'process', target: '1234' });
    expect(bind('remediate -type service -id evil')).toEqual({ type: 'service', target: 'evil' });
    expect(bind('REMEDIATE -TYPE File -ID /tmp/x')).toEqual({ type: 'file', target: '/tmp/x' });
    expect(bind('undo -type file -id /tmp/x')).toEqual({ type: 'file', target: '/tmp/x' });
    expect(bind('analyze -type process -id 42')).toEqual({ type: 'process', target: '42' });
    expect(bind('remediate file /tmp/x -auto')).toEqual({ type: 'file', target: '/tmp/x', auto: true });
    expect(bind('remediate -type file -target /tmp/x')).toEqual({ type: 'file', target: '/tmp/x' });
    // -id is another name of -target: given both ways is given twice; -id still needs its value.
    expect(bindError('remediate -type file -target /a -id /b')).toBe('remediate: -target given twice');
    expect(bindError('remediate file /a -id /b')).toBe('remediate: -target given twice');
    expect(bindError('remediate -type file -id')).toBe('missing value for -id');
  });

  // -output is accepted by every command.
  it('accepts -output json|table on every command of the catalog', () => {
    for (const spec of CATALOG) {
      const required = spec.params
        .filter((p) => p.required)
        .map((p) => ` -${p.name} ${p.values?.[0] ?? '1'}`)
        .join('');
      for (const format of ['json', 'table']) {
        const parsed = parseLine(`${spec.name}${required} -output ${format}`);
        expect(parsed.output, spec.name).toBe(format);
        expect(() => bindParams(spec, parsed), spec.name).not.toThrow();
      }
    }
    expect(bind('cd /x -output json')).toEqual({ path: '/x' });
    expect(parseLine('isolate json')).toMatchObject({ positionals: [], output: 'json' });
  });

  it('refuses too many positionals', () => {
    expect(bindError('getfile /a /b')).toBe('getfile: too many arguments (unexpected "/b")');
    expect(bindError('isolate now')).toBe('isolate: too many arguments (unexpected "now")');
  });

  it('refuses a parameter given both by position and by name', () => {
    expect(bindError('getfile /a -path /b')).toBe('getfile: -path given twice (by position and by name)');
    expect(bindError('remediate -type file /tmp/x')).toBe('remediate: -type given twice (by position and by name)');
  });

  it('refuses a missing required parameter', () => {
    expect(bindError('getfile')).toBe('getfile: missing <path>');
    expect(bindError('getfile -auto')).toBe('getfile: missing <path>');
    expect(bindError('undo file')).toBe('undo: missing <target>');
    expect(bindError('getfile ""')).toBe('getfile: <path> must not be empty');
  });

  it('refuses bad enum and int values', () => {
    expect(bindError('trace loud')).toBe('trace: <level> must be one of off, error, warn, info, debug, not "loud"');
    expect(bindError('processes -pid abc')).toBe('processes: -pid must be an integer');
    expect(bindError('processes -pid 1.5')).toBe('processes: -pid must be an integer');
    expect(bindError('processes -pid 99999999999999999')).toBe('processes: -pid must be an integer');
    expect(bindError('processes -pid " 1"')).toBe('processes: -pid must be an integer');
  });

  it('checks flags versus values in hand-built lines (REST API)', () => {
    const dir = specOf('dir');
    const withValue: ParsedLine = { name: 'dir', positionals: [], named: { full_path: 'yes' }, background: false };
    expect(() => bindParams(dir, withValue)).toThrow(new GrammarError('dir: -full_path takes no value'));
    const findfile = specOf('findfile');
    const withoutValue: ParsedLine = { name: 'findfile', positionals: ['x'], named: { path: true }, background: false };
    expect(() => bindParams(findfile, withoutValue)).toThrow(new GrammarError('missing value for -path'));
    const badOutput: ParsedLine = { name: 'dir', positionals: [], named: { output: 'xml' }, background: false };
    expect(() => bindParams(dir, badOutput)).toThrow(GrammarError);
  });

  it('binds every catalog example', () => {
    for (const spec of CATALOG) {
      for (const example of spec.examples) {
        const parsed = parseLine(example);
        expect(parsed.name).toBe(spec.name);
        expect(() => bindParams(spec, parsed), example).not.toThrow();
      }
    }
  });
});

describe('formatUsage', () => {
  it('prints the catalog syntax', () => {
    expect(formatUsage(specOf('getfile'))).toBe('usage: getfile <path> [-auto] [-restart]');
  });
});
