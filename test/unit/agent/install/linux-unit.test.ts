import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  agentUnitText,
  DEFAULT_DATA_DIR,
  execStartLine,
  INSTALLED_BINARY,
  linuxStatusLines,
  parseExecStart,
  serviceArgv,
  systemdQuote,
  type LinuxAgentStatus,
} from '../../../../src/agent/install/linux-unit.js';

const ROOT = join(import.meta.dirname, '../../../..');

describe('the systemd unit of lr-agent install', () => {
  it('runs the agent as root, restarted 2 s after any exit, at boot, after the network', () => {
    const unit = agentUnitText(serviceArgv([INSTALLED_BINARY], DEFAULT_DATA_DIR));
    for (const line of [
      'ExecStart=/usr/lib/lr-agent/lr-agent service --data /var/lib/lr-agent',
      'User=root',
      'Restart=always',
      'RestartSec=2',
      'WantedBy=multi-user.target',
      'After=network-online.target',
      'StartLimitIntervalSec=0',
      'UMask=0077',
      'NoNewPrivileges=yes',
    ]) {
      expect(unit.split('\n'), line).toContain(line);
    }
  });

  it('sets no option that would stop it reading the system or writing where the threat is', () => {
    const set = agentUnitText(['/usr/bin/x'])
      .split('\n')
      .filter((l) => !l.startsWith('#'));
    const blinding =
      /^(ProtectSystem|ProtectHome|PrivateTmp|PrivateDevices|DevicePolicy|ProtectProc|ProcSubset|PrivateNetwork|RestrictAddressFamilies|IPAddressDeny|ProtectKernelModules|ReadOnlyPaths|InaccessiblePaths|RestrictSUIDSGID|CapabilityBoundingSet|SystemCallFilter|ProtectClock)=/;
    expect(set.filter((l) => blinding.test(l))).toEqual([]);
  });

  it('is the unit the .deb ships (packaging/debian/lr-agent/lr-agent.service)', () => {
    // lr-agent install uses the package's unit as it is when both say the same; they must not drift.
    expect(readFileSync(join(ROOT, 'packaging/debian/lr-agent/lr-agent.service'), 'utf8')).toBe(
      agentUnitText(serviceArgv([INSTALLED_BINARY], DEFAULT_DATA_DIR)),
    );
  });

  it('quotes ExecStart words so that systemd splits them back as they were', () => {
    const argv = [
      '/opt/my agent/node',
      '/opt/my agent/out/bin/lr-agent.js',
      'service',
      '--data',
      '/srv/data "x" 100% $HOME\\y',
    ];
    const line = execStartLine(argv);
    expect(line).toBe(
      '"/opt/my agent/node" "/opt/my agent/out/bin/lr-agent.js" service --data "/srv/data \\"x\\" 100%% $$HOME\\\\y"',
    );
    expect(parseExecStart(`[Service]\nExecStart=${line}\n`)).toEqual(argv);
    expect(systemdQuote('/usr/lib/lr-agent/lr-agent')).toBe('/usr/lib/lr-agent/lr-agent');
  });

  it('refuses what a unit cannot carry: a relative program, an empty word, a newline', () => {
    expect(() => execStartLine(['node', 'x.js'])).toThrow(/absolute path/);
    expect(() => systemdQuote('')).toThrow(/empty/);
    expect(() => systemdQuote('/a\nExecStartPre=/bin/evil')).toThrow(/control character/);
    expect(() => serviceArgv(['/usr/bin/x'], 'data')).toThrow(/absolute path/);
    expect(() => parseExecStart('ExecStart=-/bin/true')).toThrow(/prefix/);
  });

  it('systemd reads the quoted words back the same (systemd-analyze verify on a unit with spaces and %)', (ctx) => {
    let analyze = true;
    try {
      execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    } catch {
      analyze = false;
    }
    if (!analyze) return ctx.skip('systemd-analyze is not installed');
    const dir = mkdtempSync(join(tmpdir(), 'lr unit %x-'));
    try {
      const prog = join(dir, 'prog');
      writeFileSync(prog, '#!/bin/sh\n', { mode: 0o755 });
      const unit = join(dir, 'lr-agent-quote-test.service');
      writeFileSync(unit, agentUnitText(serviceArgv([prog], join(dir, 'data'))));
      // The program exists only under its exact name: a wrong split or a % read as a specifier fails.
      const r = (() => {
        try {
          return execFileSync('systemd-analyze', ['verify', unit], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          });
        } catch (e) {
          return String((e as { stderr?: string }).stderr);
        }
      })();
      expect(
        r
          .split('\n')
          .filter((l) => /not executable|No such file|Failed|Unknown|escape/i.test(l) && !/sysinit\.target/.test(l)),
      ).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lr-agent status on Linux', () => {
  const base: LinuxAgentStatus = {
    unitPath: '/lib/systemd/system/lr-agent.service',
    execStart: ['/usr/lib/lr-agent/lr-agent', 'service', '--data', '/var/lib/lr-agent'],
    enabled: 'enabled',
    active: 'active',
    systemdRunning: true,
    dataDir: '/var/lib/lr-agent',
    enrollment: { deviceId: 'd1', name: 'web-01', url: 'wss://lr.example:8443' },
    folder: { mode: 0o40700, uid: 0, isDirectory: true },
    run: {
      status: {
        pid: 42,
        startedAt: '2026-12-05T10:00:00.000Z',
        connected: true,
        url: 'wss://lr.example:8443',
        lastConnectedAt: '2026-12-05T10:00:01.000Z',
        updatedAt: '2026-12-05T10:00:01.000Z',
      },
      alive: true,
    },
  };
  const now = new Date('2026-12-05T10:00:31.000Z');

  it('says installed, enabled, active, enrolled, root-only folder and connected since when', () => {
    expect(linuxStatusLines(base, now)).toEqual([
      'service: installed (/lib/systemd/system/lr-agent.service), enabled, active',
      '  runs: /usr/lib/lr-agent/lr-agent service --data /var/lib/lr-agent',
      'enrolled: yes, as web-01 (device id d1) with lr.example:8443',
      'data folder: /var/lib/lr-agent',
      '  mode 0700, owner uid 0 (root only)',
      'agent: running (pid 42), connected to lr.example:8443 since 2026-12-05T10:00:01.000Z (30 s ago)',
    ]);
  });

  it('says when systemd cannot tell, the folder is too open, the agent is down or never connected', () => {
    const lines = linuxStatusLines(
      {
        ...base,
        active: null,
        systemdRunning: false,
        folder: { mode: 0o40755, uid: 1000, isDirectory: true },
        run: { status: { ...base.run!.status, connected: false, lastConnectedAt: null }, alive: false },
      },
      now,
    );
    expect(lines[0]).toBe(
      'service: installed (/lib/systemd/system/lr-agent.service), enabled, state unknown: systemd is not running',
    );
    expect(lines).toContain('  mode 0755, owner uid 1000 (WRONG: must be 0700 and owned by root)');
    expect(lines.at(-1)).toBe('agent: not running (pid 42 is gone), never connected since its start');
    expect(
      linuxStatusLines(
        {
          ...base,
          run: {
            status: { ...base.run!.status, connected: false, lastConnectedAt: '2026-12-05T09:00:31.000Z' },
            alive: true,
          },
        },
        now,
      ).at(-1),
    ).toBe('agent: running (pid 42), NOT connected, last connected 2026-12-05T09:00:31.000Z (60 min ago)');
  });

  it('says not installed and not enrolled', () => {
    const lines = linuxStatusLines(
      {
        ...base,
        unitPath: null,
        execStart: null,
        enabled: null,
        active: null,
        enrollment: null,
        folder: undefined,
        run: null,
      },
      now,
    );
    expect(lines).toEqual([
      'service: not installed (no lr-agent.service in /etc/systemd/system or /lib/systemd/system)',
      'enrolled: no (no agent.json in /var/lib/lr-agent)',
      'data folder: /var/lib/lr-agent',
      '  (the folder does not exist)',
      'agent: never started with this data folder',
    ]);
  });
});
