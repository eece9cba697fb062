// The Linux deny-list of `remediate` (pure: rules on real paths and unit names).
import { describe, expect, it } from 'vitest';
import {
  agentFileRule,
  criticalFileRule,
  criticalRefusal,
  criticalUnitRule,
  unitOfCgroup,
} from '../../../src/agent/platform/linux/quarantine-deny.js';

describe('Linux remediate deny-list', () => {
  it('names the rule of each system-critical file', () => {
    for (const f of ['/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow', '/etc/sudoers'])
      expect(criticalFileRule(f)).toBe('account database');
    expect(criticalFileRule('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2')).toBe('the dynamic loader');
    expect(criticalFileRule('/lib64/ld-linux-x86-64.so.2')).toBe('the dynamic loader');
    expect(criticalFileRule('/lib/ld-musl-x86_64.so.1')).toBe('the dynamic loader');
    expect(criticalFileRule('/etc/ld.so.cache')).toBe('dynamic loader configuration');
    expect(criticalFileRule('/etc/ld.so.conf.d/x86_64-linux-gnu.conf')).toBe('dynamic loader configuration');
    expect(criticalFileRule('/usr/bin/ls')).toBe('system programs (/usr/bin)');
    expect(criticalFileRule('/usr/sbin/sshd')).toBe('system programs (/usr/sbin)');
    expect(criticalFileRule('/bin/sh')).toBe('system programs (/bin)');
    expect(criticalFileRule('/sbin/ip')).toBe('system programs (/sbin)');
    expect(criticalFileRule('/usr/lib/x86_64-linux-gnu/libc.so.6')).toBe('system libraries (/usr/lib)');
    expect(criticalFileRule('/lib64/libc.so.6')).toBe('system libraries (/lib64)');
    expect(criticalFileRule('/usr/libexec/sudo/sudoers.so')).toBe('system libraries (/usr/libexec)');
    expect(criticalFileRule('/usr/lib32/libfoo.so')).toBe('system libraries (/usr/lib32)');
    expect(criticalFileRule('/boot/vmlinuz-6.1.0-13-amd64')).toBe('the kernel and the boot loader (/boot)');
    expect(criticalFileRule('/boot/efi/EFI/debian/grubx64.efi')).toBe('the kernel and the boot loader (/boot)');
    expect(criticalFileRule('/usr/lib/modules/6.1.0-13-amd64/kernel/fs/ext4/ext4.ko')).toBe('a kernel module');
    expect(criticalFileRule('/lib/modules/6.1.0/kernel/x.ko')).toBe('a kernel module');
    expect(criticalFileRule('/usr/lib/systemd/systemd')).toBe('init, the program of pid 1');
    expect(criticalFileRule('/sbin/init')).toBe('init, the program of pid 1');
    expect(criticalFileRule('/etc/fstab')).toBe('file systems mounted at boot');
    expect(criticalFileRule('/opt/runit/bin/runit-init', '/opt/runit/bin/runit-init')).toBe(
      'init, the program of pid 1',
    );
    // The folders themselves, and with a trailing slash.
    expect(criticalFileRule('/usr/bin')).toBe('system programs (/usr/bin)');
    expect(criticalFileRule('/boot/')).toBe('the kernel and the boot loader (/boot)');
  });

  it('leaves ordinary targets alone, including the usual persistence places', () => {
    for (const f of [
      '/tmp/x',
      '/usr/local/bin/evil',
      '/opt/evil/beacon.sh',
      '/etc/ld.so.preload',
      '/etc/cron.d/evil',
      '/etc/systemd/system/evil.service',
      '/etc/sudoers.d/evil',
      '/etc/passwd.evil',
      '/etc/passwdx',
      '/home/ann/.config/autostart/x.desktop',
      '/library/x',
      '/usr/local/lib/libevil.so',
      '/usr/share/doc/x',
      '/root/ld-linux.so.2',
      '/binaries/x',
      '/etc/shadow.d/x',
    ]) {
      expect(criticalFileRule(f), f).toBeNull();
    }
  });

  it('judges the normalised path: .. and repeated slashes do not slip past', () => {
    expect(criticalFileRule('/tmp/../etc/passwd')).toBe('account database');
    expect(criticalFileRule('//etc//shadow')).toBe('account database');
    expect(criticalFileRule('/usr/local/../bin/ls')).toBe('system programs (/usr/bin)');
  });

  it("recognises the agent's own program and node binary", () => {
    const self = { program: ['/usr/bin/node', '/opt/lr/out/bin/lr-agent.js'], unit: 'lr-agent.service' };
    expect(agentFileRule('/opt/lr/out/bin/lr-agent.js', self)).toBe("the agent's own program");
    expect(agentFileRule('/usr/bin/node', self)).toBe("the agent's own program");
    expect(agentFileRule('/usr/bin/node2', self)).toBeNull();
    expect(agentFileRule('/opt/lr/out/bin/lr.js', self)).toBeNull();
  });

  it('refuses systemd, D-Bus and the agent unit; the agent unit even with -force', () => {
    const self = { program: [], unit: 'lr-agent.service' };
    expect(criticalUnitRule('lr-agent.service', self)).toEqual({ what: "the agent's own unit", always: true });
    expect(criticalUnitRule('systemd-journald.service', self)?.always).toBe(false);
    expect(criticalUnitRule('systemd-tmpfiles-clean.timer', self)?.what).toBe(
      "part of systemd, the system's service manager",
    );
    expect(criticalUnitRule('dbus.service', self)?.what).toBe('the system message bus (D-Bus)');
    expect(criticalUnitRule('multi-user.target', self)).not.toBeNull();
    for (const u of ['evil.service', 'beacon.timer', 'ssh.service', 'not-systemd-x.service'])
      expect(criticalUnitRule(u, self), u).toBeNull();
  });

  it('finds the unit a process runs in from its cgroup', () => {
    expect(unitOfCgroup('0::/system.slice/lr-agent.service\n')).toBe('lr-agent.service');
    expect(unitOfCgroup('12:pids:/system.slice/lr-agent.service\n0::/system.slice/lr-agent.service\n')).toBe(
      'lr-agent.service',
    );
    expect(unitOfCgroup('0::/user.slice/user-0.slice/session-3.scope\n')).toBeNull();
    expect(unitOfCgroup('0::/\n')).toBeNull();
  });

  it('says the refusal in one line naming the rule, and the real path of a link', () => {
    expect(criticalRefusal('/etc/passwd', '/etc/passwd', 'account database')).toBe(
      '/etc/passwd is a system-critical file (account database): remediate refuses it without -force',
    );
    expect(criticalRefusal('/tmp/x', '/etc/passwd', 'account database')).toBe(
      '/tmp/x (/etc/passwd) is a system-critical file (account database): remediate refuses it without -force',
    );
  });
});
