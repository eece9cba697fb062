import { describe, expect, it } from 'vitest';
import { parseAnacrontab, parseAtJob, parseCrontab } from '../../../src/agent/platform/linux/crontab.js';
import { parseDesktopEntry } from '../../../src/agent/platform/linux/desktop-entry.js';
import {
  moduleNameOfFile,
  parseModulesDep,
  parseProcModules,
} from '../../../src/agent/platform/linux/kernel-modules.js';
import { decodeEndpoint, formatIpv6 } from '../../../src/agent/platform/linux/net-address.js';
import { parseNetTable } from '../../../src/agent/platform/linux/procfs-connections.js';
import { parseProcStat, parseProcStatus } from '../../../src/agent/platform/linux/procfs-processes.js';
import { directive, directives, parseUnitText } from '../../../src/agent/platform/linux/systemd-units.js';
import { AT_RUN_AT, atJobName, CRONTAB } from './fixture-sysroot.js';

describe('/proc/net addresses', () => {
  it('decodes little-endian IPv4 and ports', () => {
    expect(decodeEndpoint('0100007F:1F90', true)).toEqual({ address: '127.0.0.1', port: 8080 });
    expect(decodeEndpoint('00000000:0016', true)).toEqual({ address: '0.0.0.0', port: 22 });
    expect(decodeEndpoint('7F000001:0050', false)).toEqual({ address: '127.0.0.1', port: 80 });
  });

  it('decodes IPv6 words and prints them compressed', () => {
    expect(decodeEndpoint('00000000000000000000000001000000:0050', true)).toEqual({ address: '::1', port: 80 });
    expect(decodeEndpoint('00000000000000000000000000000000:0000', true).address).toBe('::');
    expect(decodeEndpoint('0000000000000000FFFF00000100007F:01BB', true)).toEqual({
      address: '::ffff:127.0.0.1',
      port: 443,
    });
    // 2001:db8::1 -> words 20010db8 00000000 00000000 00000001, each little-endian
    expect(decodeEndpoint('B80D0120000000000000000001000000:0035', true).address).toBe('2001:db8::1');
    expect(decodeEndpoint('000080FE00000000FF0200005A0B00FE:0000', true).address).toBe('fe80::2ff:fe00:b5a');
  });

  it('compresses the longest zero run only, never a single group', () => {
    const bytes = (groups: number[]): Buffer => {
      const b = Buffer.alloc(16);
      groups.forEach((g, i) => b.writeUInt16BE(g, i * 2));
      return b;
    };
    expect(formatIpv6(bytes([0x2001, 0xdb8, 0, 0, 1, 0, 0, 0]))).toBe('2001:db8:0:0:1::');
    expect(formatIpv6(bytes([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]))).toBe('2001:db8:0:1:1:1:1:1');
  });

  it('parses a tcp table with states and inodes', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:0CEA 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1',
      '',
    ].join('\n');
    const rows = parseNetTable('tcp', text);
    expect(rows[0]).toMatchObject({
      protocol: 'tcp',
      localPort: 3306,
      state: 'LISTEN',
      inode: 4242,
      uid: 1000,
      remoteAddress: '0.0.0.0',
      remotePort: 0,
    });
    expect(rows[1]).toMatchObject({ state: 'ESTABLISHED', remotePort: 0xa1b2 });
    expect(parseNetTable('udp', text.replace(' 0A ', ' 07 '))[0]?.state).toBe('UNCONN');
  });
});

describe('procfs records', () => {
  it('parses stat with spaces and parentheses in the name', () => {
    const stat = parseProcStat(
      '4242 (my (evil) proc) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 123456 1000000 200 18446744073709551615',
    );
    expect(stat).toMatchObject({
      pid: 4242,
      comm: 'my (evil) proc',
      state: 'S',
      ppid: 1,
      utime: 250,
      stime: 50,
      starttime: 123456,
    });
  });

  it('reads effective uid and VmRSS from status', () => {
    expect(parseProcStatus('Name:\tx\nUid:\t1000\t0\t0\t0\nVmRSS:\t    1234 kB\n')).toEqual({
      uid: 0,
      rssBytes: 1234 * 1024,
    });
    expect(parseProcStatus('Name:\tkthreadd\nUid:\t0\t0\t0\t0\n').rssBytes).toBe(0);
  });
});

describe('crontabs', () => {
  it('parses the system format, skipping comments, blank lines and variables', () => {
    expect(parseCrontab(CRONTAB, true)).toEqual([
      { line: 5, schedule: '17 * * * *', user: 'root', command: 'cd / && run-parts --report /etc/cron.hourly' },
      { line: 6, schedule: '@reboot', user: 'root', command: '/opt/evil/boot.sh' },
    ]);
  });

  it('parses the per-user format, where the sixth field is the command', () => {
    expect(
      parseCrontab('  # c\nFOO = bar\n*/10 1-5 * jan,feb mon-fri echo "a  b" > /tmp/x 2>&1\n@daily /bin/true\n', false),
    ).toEqual([
      { line: 3, schedule: '*/10 1-5 * jan,feb mon-fri', user: null, command: 'echo "a  b" > /tmp/x 2>&1' },
      { line: 4, schedule: '@daily', user: null, command: '/bin/true' },
    ]);
  });

  it('parses anacrontab', () => {
    expect(parseAnacrontab('SHELL=/bin/sh\n1\t5\tcron.daily\trun-parts --report /etc/cron.daily\n')[0]).toMatchObject({
      line: 2,
      command: 'run-parts --report /etc/cron.daily',
    });
  });

  it('reads an at job: time from the name, uid and commands from the body', () => {
    const job = parseAtJob(
      atJobName(AT_RUN_AT),
      "#!/bin/sh\n# atrun uid=1000 gid=1000\numask 22\ncd /tmp || {\n exit 1\n}\n${SHELL:-/bin/sh} << 'marcinDELIMITER0a'\necho one\necho two\nmarcinDELIMITER0a\n",
    );
    expect(job).toEqual({ runAt: AT_RUN_AT.toISOString(), uid: 1000, command: 'echo one; echo two' });
  });
});

describe('unit files', () => {
  it('applies sections, continuations, list resets and drop-ins', () => {
    const s = parseUnitText(
      '[Unit]\nDescription=First\n# c\n[Service]\nExecStart=/bin/a \\\n  --flag\nExecStartPre=/bin/pre\n',
    );
    parseUnitText('[Unit]\nDescription=Second\n[Service]\nExecStart=\nExecStart=/bin/b\n', s);
    expect(directive(s, 'Unit', 'Description')).toBe('Second');
    expect(directives(s, 'Service', 'ExecStart')).toEqual(['/bin/b']);
    expect(directives(s, 'Service', 'ExecStartPre')).toEqual(['/bin/pre']);
    expect(directives(parseUnitText('[Service]\nExecStart=/bin/a \\\n  --flag\n'), 'Service', 'ExecStart')).toEqual([
      '/bin/a --flag',
    ]);
  });

  it('reads desktop entries', () => {
    expect(
      parseDesktopEntry(
        '[Desktop Entry]\nName=A\nName[fr]=B\nExec=/bin/a %U\nHidden=true\n[Desktop Action x]\nExec=/bin/other\n',
      ),
    ).toEqual({ name: 'A', exec: '/bin/a %U', disabled: true });
  });
});

describe('kernel modules', () => {
  it('parses /proc/modules', () => {
    const mods = parseProcModules(
      'nf_tables 331776 2 nft_chain_nat,nft_compat, Live 0xffffffffc0a00000\nevil 16384 0 - Loading 0x0000000000000000 (OE)\n',
    );
    expect(mods).toEqual([
      {
        name: 'nf_tables',
        size: 331776,
        refCount: 2,
        usedBy: ['nft_chain_nat', 'nft_compat'],
        state: 'Live',
        taint: null,
      },
      { name: 'evil', size: 16384, refCount: 0, usedBy: [], state: 'Loading', taint: 'OE' },
    ]);
  });

  it('maps module names to modules.dep paths', () => {
    expect(moduleNameOfFile('kernel/drivers/net/wireguard/wire-guard.ko.zst')).toBe('wire_guard');
    const paths = parseModulesDep(
      'kernel/net/netfilter/nf_tables.ko: kernel/lib/libcrc32c.ko\n/abs/x.ko:\n',
      '/lib/modules/6.1.0',
    );
    expect(paths.get('nf_tables')).toBe('/lib/modules/6.1.0/kernel/net/netfilter/nf_tables.ko');
    expect(paths.get('x')).toBe('/abs/x.ko');
  });
});
