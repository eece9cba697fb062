import { describe, expect, it } from 'vitest';
import {
  isNativeRunner,
  libraryNameProblem,
  libraryRunner,
  scriptInterpreter,
  ScriptParametersError,
  splitScriptParameters,
} from '../../../../src/shared/commands/library-rules.js';

describe('library file names', () => {
  it('accepts letters, digits, - _ . and refuses separators, dots at the start and ..', () => {
    for (const ok of ['collect.sh', 'Get-Info_v2.ps1', 'a', 'x.tar.gz', '9lives'])
      expect(libraryNameProblem(ok), ok).toBeNull();
    for (const bad of [
      '',
      '.',
      '..',
      '../x',
      'a/b',
      'a\\b',
      '.hidden',
      'x..y',
      'sp ace.sh',
      'é.sh',
      'a\0b',
      'x'.repeat(129),
    ])
      expect(libraryNameProblem(bad), bad).not.toBeNull();
  });
});

describe('script parameters', () => {
  it('splits like a command line: quotes group words, nothing is a shell', () => {
    expect(splitScriptParameters('-n hello world')).toEqual(['-n', 'hello', 'world']);
    expect(splitScriptParameters(`-n 'hello world' "it's"`)).toEqual(['-n', 'hello world', "it's"]);
    expect(splitScriptParameters('a>b > c')).toEqual(['a>b', '>', 'c']);
    expect(splitScriptParameters('C:\\dir\\ "x y"')).toEqual(['C:\\dir\\', 'x y']);
    expect(splitScriptParameters('   ')).toEqual([]);
    expect(splitScriptParameters('""')).toEqual(['']);
  });

  it('refuses the reference console’s forbidden characters, quoted or not', () => {
    for (const p of ['a;b', 'a & b', 'a|b', '!x', '$HOME', '"$(id)"', "'a;b'"]) {
      expect(() => splitScriptParameters(p), p).toThrow(
        new ScriptParametersError('run: parameters may not contain ; & | ! $'),
      );
    }
    expect(() => splitScriptParameters('"open')).toThrow(/unterminated quote/);
  });

  it('picks the interpreter by extension', () => {
    expect(scriptInterpreter('a.sh')).toBe('bash');
    expect(scriptInterpreter('a.PY')).toBe('python3');
    expect(scriptInterpreter('a.ps1')).toBe('pwsh');
    expect(scriptInterpreter('a.exe')).toBeNull();
    expect(scriptInterpreter('sh')).toBeNull();
  });

  it('names what runs a library file (signed with it): the interpreter, or the kernel for an executable', () => {
    expect(libraryRunner('a.sh')).toBe('bash');
    expect(libraryRunner('collector')).toBe('native-elf');
    expect(libraryRunner('tool.bin')).toBe('native-elf');
    expect(libraryRunner('tool.EXE')).toBe('native-pe');
    // Batch files are cmd's scripts, not Linux executables: a signed .bat does not pass as `collector`.
    expect(libraryRunner('collect.bat')).toBe('cmd');
    expect(libraryRunner('collect.CMD')).toBe('cmd');
    expect(libraryRunner('collect.ps1')).toBe('pwsh');
    expect(isNativeRunner(libraryRunner('collect.bat'))).toBe(false);
    expect(isNativeRunner(libraryRunner('collector'))).toBe(true);
    expect(isNativeRunner(libraryRunner('a.py'))).toBe(false);
  });
});
