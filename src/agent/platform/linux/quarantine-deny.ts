/**
 * What `remediate` does not take on Linux without `-force`, judged on real paths and unit names alone (pure:
 * the caller resolves links and `..` first; see commands/remediate.ts). The Windows counterpart is
 * ../windows/quarantine-deny.ts.
 * - Files the system needs to start, to log anyone in or to run any program: the account databases, the
 *   dynamic loader and its configuration, the system program and library folders, the kernel, its modules
 *   and the boot files, init, the file system table. Quarantining one of them breaks every login, every
 *   program or the next boot — not a mistake an analyst can undo from the console, whose own agent may
 *   not start again. `-force` takes them anyway (a trojaned /usr/bin/ls is a real case).
 * - systemd's own units and D-Bus for `remediate service` (and a timer given to `scheduledtask`).
 * - The agent itself (its program, its node binary, its unit, its pid and its parents, pid 1): refused even
 *   with `-force`, since the agent would cut the branch it sits on. Its data folder is a protected folder
 *   (../../protected-paths.ts), which no command touches at all.
 * The lists are short on purpose: /usr/local, /opt, /etc/cron.*, /etc/systemd/system, /etc/ld.so.preload
 * (a rootkit's favourite, which the system runs fine without) stay ordinary targets.
 */
import path from 'node:path';

/** Exact files, by what they are (the rule the refusal names). */
export const CRITICAL_FILES: Readonly<Record<string, string>> = {
  '/etc/passwd': 'account database',
  '/etc/shadow': 'account database',
  '/etc/group': 'account database',
  '/etc/gshadow': 'account database',
  '/etc/sudoers': 'account database',
  '/etc/ld.so.cache': 'dynamic loader configuration',
  '/etc/ld.so.conf': 'dynamic loader configuration',
  '/etc/fstab': 'file systems mounted at boot',
  '/sbin/init': 'init, the program of pid 1',
  '/usr/sbin/init': 'init, the program of pid 1',
  '/lib/systemd/systemd': 'init, the program of pid 1',
  '/usr/lib/systemd/systemd': 'init, the program of pid 1',
  '/vmlinuz': 'the kernel',
  '/vmlinuz.old': 'the kernel',
  '/initrd.img': 'the kernel',
  '/initrd.img.old': 'the kernel',
};

/** Whole folders (everything under them), by what they hold; the first match names the rule. */
export const CRITICAL_FOLDERS: readonly (readonly [folder: string, what: string])[] = [
  ['/etc/ld.so.conf.d', 'dynamic loader configuration'],
  ['/boot', 'the kernel and the boot loader (/boot)'],
  ['/lib/modules', 'a kernel module'],
  ['/usr/lib/modules', 'a kernel module'],
  ['/bin', 'system programs (/bin)'],
  ['/sbin', 'system programs (/sbin)'],
  ['/usr/bin', 'system programs (/usr/bin)'],
  ['/usr/sbin', 'system programs (/usr/sbin)'],
];

/** /lib, /lib32, /lib64, /libx32, /libexec, and the same in /usr. */
const LIBRARY_FOLDER = /^(\/usr)?\/lib(32|64|x32|exec)?(\/|$)/;
/** The dynamic loader (ld-linux-x86-64.so.2, ld-linux-aarch64.so.1, ld-musl-x86_64.so.1, ld.so...). */
const LOADER_NAME = /^ld(-linux[^/]*|-musl[^/]*|)\.so(\.[0-9]+)*$/;

/** Units whose stop or removal takes the machine's logins, logging or service management with it. */
const CRITICAL_UNIT = /^(systemd-[^/]+|dbus(-broker)?\.(service|socket)|init\.scope|-\.slice|[^/]+\.target)$/;

function within(p: string, folder: string): boolean {
  return p === folder || p.startsWith(`${folder}/`);
}

/**
 * Which rule of the deny-list the real path `real` (absolute, `..` and links resolved) falls under, or null.
 * `init` is pid 1's program as /proc/1/exe names it, when known (an init outside the usual places).
 */
export function criticalFileRule(real: string, init?: string | null): string | null {
  const p = path.posix.normalize(real).replace(/(.)\/+$/, '$1');
  const exact = CRITICAL_FILES[p];
  if (exact) return exact;
  if (init && p === init) return 'init, the program of pid 1';
  if (LOADER_NAME.test(path.posix.basename(p)) && (LIBRARY_FOLDER.test(p) || /^\/(usr\/)?s?bin\//.test(p)))
    return 'the dynamic loader';
  for (const [folder, what] of CRITICAL_FOLDERS) if (within(p, folder)) return what;
  if (LIBRARY_FOLDER.test(p)) return `system libraries (${/^(\/usr)?\/lib[a-z0-9]*/.exec(p)?.[0] ?? '/lib'})`;
  return null;
}

/** What the agent runs from: its program (lr-agent.js) and its node binary (real paths), and its unit. */
export interface AgentSelf {
  program: readonly string[];
  /** The systemd unit the agent runs in (from /proc/self/cgroup), if any. */
  unit?: string | null | undefined;
}

/** Why the real path `real` is the agent itself (never taken, even with -force), or null. */
export function agentFileRule(real: string, self: AgentSelf): string | null {
  const p = path.posix.normalize(real);
  for (const own of self.program) if (p === own) return "the agent's own program";
  return null;
}

/** Which rule a unit name (`x.service`, `x.timer`) falls under, or null; `always` when -force does not lift it. */
export function criticalUnitRule(name: string, self: AgentSelf): { what: string; always: boolean } | null {
  if (self.unit && name === self.unit) return { what: "the agent's own unit", always: true };
  if (CRITICAL_UNIT.test(name))
    return {
      what:
        name.startsWith('systemd-') || name.endsWith('.target') || name.endsWith('.slice') || name === 'init.scope'
          ? "part of systemd, the system's service manager"
          : 'the system message bus (D-Bus)',
      always: false,
    };
  return null;
}

/** The unit a process runs in, from its /proc/PID/cgroup text (`0::/system.slice/lr-agent.service`), or null. */
export function unitOfCgroup(text: string): string | null {
  for (const line of text.split('\n')) {
    const cgroup = line.split(':').slice(2).join(':');
    const unit = cgroup
      .split('/')
      .reverse()
      .find((part) => /\.(service|scope)$/.test(part));
    if (unit) return unit.endsWith('.service') ? unit : null;
  }
  return null;
}

/** The refusal, in one line, naming the rule: `/etc/passwd is a system-critical file (account database): ...`. */
export function criticalRefusal(shown: string, real: string, rule: string, kind = 'file'): string {
  const link = real !== shown ? ` (${real})` : '';
  return `${shown}${link} is a system-critical ${kind} (${rule}): remediate refuses it without -force`;
}
