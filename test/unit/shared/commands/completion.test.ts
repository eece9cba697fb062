import { describe, expect, it } from 'vitest';
import { CATALOG } from '../../../../src/shared/commands/catalog.js';
import { complete, completesLibrary } from '../../../../src/shared/commands/completion.js';

const ctx = { commands: CATALOG.map((c) => c.name) };

/** Completes with the cursor at the end of `line`. */
function atEnd(line: string): ReturnType<typeof complete> {
  return complete(line, line.length, ctx);
}

describe('complete: command names', () => {
  it('completes the first word from the allowed commands', () => {
    expect(atEnd('ge')).toEqual({ replaceFrom: 0, candidates: ['getfile'], kind: 'command' });
    expect(atEnd('  s')).toEqual({
      replaceFrom: 2,
      candidates: ['status', 'services', 'scheduledtasks', 'startupfolders', 'scan'],
      kind: 'command',
    });
    expect(atEnd('GE').candidates).toEqual(['getfile']);
    expect(atEnd('').candidates).toHaveLength(CATALOG.length);
  });

  it('only offers the commands given in the context', () => {
    expect(complete('i', 1, { commands: ['dir'] }).candidates).toEqual([]);
  });

  it('uses only the text before the cursor', () => {
    expect(complete('ge /tmp/x', 2, ctx)).toEqual({ replaceFrom: 0, candidates: ['getfile'], kind: 'command' });
  });

  it('completes command names as the argument of help', () => {
    expect(atEnd('help pro')).toEqual({ replaceFrom: 5, candidates: ['processes'], kind: 'command' });
  });
});

describe('complete: flags', () => {
  it('offers the current command’s parameters not given yet', () => {
    expect(atEnd('dir -')).toEqual({ replaceFrom: 4, candidates: ['-full_path', '-output', '-path'], kind: 'flag' });
    expect(atEnd('dir /etc -f')).toEqual({ replaceFrom: 9, candidates: ['-full_path'], kind: 'flag' });
    expect(atEnd('putfile x -overwrite -')).toMatchObject({ candidates: ['-keep', '-name', '-output'], kind: 'flag' });
    expect(atEnd('dir -FU').candidates).toEqual(['-full_path']);
  });

  it('offers nothing for unknown commands', () => {
    expect(atEnd('nosuch -').kind).toBe('none');
  });
});

describe('complete: remote paths', () => {
  it('asks the caller for a remote path in a path positional', () => {
    expect(atEnd('getfile /var/lo')).toEqual({ replaceFrom: 8, candidates: [], kind: 'path', pathPrefix: '/var/lo' });
    expect(atEnd('cd ')).toEqual({ replaceFrom: 3, candidates: [], kind: 'path', pathPrefix: '' });
  });

  it('removes quotes from the typed prefix, including an open quote', () => {
    expect(atEnd('getfile "/tmp/a b')).toEqual({
      replaceFrom: 8,
      candidates: [],
      kind: 'path',
      pathPrefix: '/tmp/a b',
    });
    expect(atEnd('getfile "/tmp/a b"/c')).toMatchObject({ replaceFrom: 8, kind: 'path', pathPrefix: '/tmp/a b/c' });
  });

  it('asks for a path in the value of a path parameter, and keeps backslashes', () => {
    expect(atEnd('findfile x -path /us')).toMatchObject({ replaceFrom: 17, kind: 'path', pathPrefix: '/us' });
    expect(atEnd('dir -full_path C:\\Us')).toMatchObject({ kind: 'path', pathPrefix: 'C:\\Us' });
  });

  it('does not complete a path in a non-path slot, after > or after &', () => {
    expect(atEnd('findfile ').kind).toBe('none');
    expect(atEnd('getfile /a ').kind).toBe('none');
    expect(atEnd('processes > out').kind).toBe('none');
    expect(atEnd('getfile /a & ').kind).toBe('none');
  });
});

describe('complete: values', () => {
  it('offers enum values and output formats', () => {
    expect(atEnd('trace d')).toEqual({ replaceFrom: 6, candidates: ['debug'], kind: 'value' });
    expect(atEnd('remediate ')).toMatchObject({
      candidates: ['file', 'process', 'service', 'scheduledtask', 'startupfolder', 'registry', 'list'],
      kind: 'value',
    });
    expect(atEnd('dir -output ')).toEqual({ replaceFrom: 12, candidates: ['json', 'table'], kind: 'value' });
    expect(atEnd('connections j')).toEqual({ replaceFrom: 12, candidates: ['json'], kind: 'value' });
  });
});

describe('complete: robustness', () => {
  it('clamps the cursor and never throws', () => {
    expect(complete('ge', 99, ctx).candidates).toEqual(['getfile']);
    expect(complete('ge', -3, ctx).kind).toBe('command');
    expect(complete('ge', Number.NaN, ctx).candidates).toEqual(['getfile']);
  });
});

describe('complete: library names (run, putfile)', () => {
  const library = ['collect.sh', 'collector', 'triage report.ps1', 'other.py'];
  const withLibrary = { ...ctx, library };

  it('completes the script of run and the file of putfile from the library names', () => {
    expect(complete('run coll', 8, withLibrary)).toEqual({
      replaceFrom: 4,
      candidates: ['collect.sh', 'collector'],
      kind: 'value',
    });
    expect(complete('putfile o', 9, withLibrary)).toEqual({ replaceFrom: 8, candidates: ['other.py'], kind: 'value' });
    expect(complete('run collect.sh -parameters x', 14, withLibrary).candidates).toEqual(['collect.sh']);
  });

  it('quotes a name that needs it', () => {
    expect(complete('run tri', 7, withLibrary).candidates).toEqual(['"triage report.ps1"']);
  });

  it('offers nothing without the names, and says when they are worth fetching', () => {
    expect(complete('run coll', 8, ctx).candidates).toEqual([]);
    expect(completesLibrary('run coll', 8)).toBe(true);
    expect(completesLibrary('putfile ', 8)).toBe(true);
    expect(completesLibrary('run x -parameters ', 18)).toBe(false);
    expect(completesLibrary('getfile /tm', 11)).toBe(false);
    expect(completesLibrary('ru', 2)).toBe(false);
  });
});
