// The catalog says what works on which OS: every agent command on Linux and Windows, registry on Windows only;
// macOS is not implemented yet.
import { describe, expect, it } from 'vitest';
import {
  CATALOG,
  describedOn,
  findCommand,
  platformRefusal,
  PLATFORMS,
} from '../../../../src/shared/commands/catalog.js';

const WINDOWS_TOO = [
  'cd',
  'dir',
  'processes',
  'connections',
  'fileinfo',
  'findfile',
  'getfile',
  'services',
  'drivers',
  'scheduledtasks',
  'startupfolders',
  'persistence',
  'putfile',
  'run',
  'remediate',
  'undo',
  'isolate',
  'release',
  'collect',
  'analyze',
  'scan',
];

describe('catalog: support per OS', () => {
  it('says linux and win32: yes and darwin: not yet for the agent commands', () => {
    for (const name of WINDOWS_TOO)
      expect(findCommand(name)?.support, name).toEqual({ linux: 'yes', darwin: 'not yet', win32: 'yes' });
    expect(findCommand('registry')?.support).toEqual({ linux: 'no', darwin: 'no', win32: 'yes' });
    // every agent command is in one of the lists: a new one must say where it works
    for (const c of CATALOG.filter((x) => x.side === 'agent'))
      expect([...WINDOWS_TOO, 'registry'], c.name).toContain(c.name);
  });

  it('says yes everywhere for the commands the service or the console runs', () => {
    for (const c of CATALOG.filter((x) => x.side !== 'agent'))
      expect(c.support, c.name).toEqual({ linux: 'yes', darwin: 'yes', win32: 'yes' });
  });

  it('runs a command only where it works today, and refuses it elsewhere in one line', () => {
    for (const c of CATALOG) expect(c.platforms, c.name).toEqual(PLATFORMS.filter((p) => c.support[p] === 'yes'));
    expect(findCommand('registry')?.platforms).toEqual(['win32']);
    expect(platformRefusal(findCommand('dir')!, 'win32')).toBeNull();
    expect(platformRefusal(findCommand('remediate')!, 'darwin')).toBe(
      'remediate: not supported on this platform yet (darwin; works on linux, win32)',
    );
    expect(platformRefusal(findCommand('registry')!, 'linux')).toBe(
      'registry: not supported on this platform (linux; works on win32)',
    );
  });

  it('describes a command for the device OS where it differs', () => {
    expect(describedOn(findCommand('services')!, 'linux').summary).toMatch(/systemd/);
    expect(describedOn(findCommand('services')!, 'win32').summary).toMatch(/service control manager/);
    expect(describedOn(findCommand('scheduledtasks')!, 'win32').summary).not.toMatch(/cron/);
    expect(describedOn(findCommand('cd')!, 'win32').examples.join(' ')).toMatch(/C:\\Windows/);
    // every Windows-capable command that reads OS-specific things says so for Windows
    for (const name of ['services', 'drivers', 'scheduledtasks', 'startupfolders', 'persistence', 'run', 'fileinfo']) {
      expect(describedOn(findCommand(name)!, 'win32').summary, name).not.toBe(findCommand(name)!.summary);
    }
  });
});
