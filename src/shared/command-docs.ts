/**
 * The reference page of the console commands (docs/commands.md), rendered from the catalog so that the
 * documentation cannot drift from what the service enforces. Field meanings are described here.
 */
import { CATALOG, PLATFORMS, aliasesOf, type CommandSpec } from './catalog.js';

const HELP_FIELDS = {
  name: 'command name',
  summary: 'one line',
  syntax: 'usage line',
  role: 'basic, advanced or admin',
  side: 'client, service or agent',
  timeLimitMinutes: 'as enforced by this service',
  support: 'per OS (linux, darwin, win32): yes, not yet (the service refuses it there today) or no',
  params: 'name, aliases, position, type, values, required, help of each parameter',
  examples: 'example lines',
  beyond: 'true when beyond the reference console',
};
const SAVED_AS = 'on the file-end record, printed by `lr exec` and `lr shell`: the local file written once its SHA-256 matched';

const FIELD_DOCS: Record<string, Record<string, string>> = {
  help: HELP_FIELDS,
  fg: { id: 'command ID brought to the foreground', commandLine: 'as typed' },
  trace: { level: 'the verbosity now in force for this session' },
  jobs: { id: 'command ID', commandLine: 'as typed', state: 'pending, running, completed, failed, cancelled, timed_out, refused', startedAt: 'ISO 8601', duration: 'durationMs for people (1.2 s, 3m 05s)', durationMs: 'so far, for a running job', background: 'true when started with & or Ctrl+Z' },
  status: { id: 'command ID', commandLine: 'as typed', state: 'as in jobs', startedAt: 'ISO 8601', durationMs: 'milliseconds', output: 'the output as logged (records as JSON lines; may be truncated, see the command log)' },
  cd: { path: 'the new current directory' },
  dir: { name: 'entry name', path: 'full device path', type: 'file, directory, symlink, fifo, socket, char-device, block-device', size: 'bytes', mode: 'ls-style permissions, e.g. -rw-r--r-- (Windows: attributes in PowerShell\'s form darhsl, e.g. -a-h--)', owner: 'user name (uid when unknown; Windows: DOMAIN\\name, the SID when unnamed, null when unreadable)', group: 'group name (gid when unknown; null on Windows)', mtime: 'ISO 8601', linkTarget: 'symlink target (never followed)' },
  processes: { pid: 'process id', ppid: 'parent process id', name: 'kernel command name (comm; Windows: the image name, e.g. svchost.exe)', user: 'owner (real uid) name (Windows: the token owner DOMAIN\\name; null when the process cannot be opened)', uid: 'real uid (null on Windows)', state: 'R, S, D, Z, T, … (Windows: running)', startTime: 'ISO 8601 (null on Windows when the process cannot be opened, as the fields below)', cmdline: 'arguments joined by spaces', path: 'executable path, null when unreadable', rssBytes: 'resident memory (Windows: working set)', cpuTimeMs: 'user + system CPU time', sessionId: 'Windows: the session id (null on Linux)' },
  connections: { protocol: 'tcp, tcp6, udp, udp6', localAddress: 'IPv4 dotted or IPv6 compressed', localPort: 'number', remoteAddress: 'as localAddress', remotePort: 'number (0 when none)', state: 'LISTEN, ESTABLISHED, TIME_WAIT, … (UDP: UNCONN or ESTABLISHED; Windows UDP: always UNCONN)', pid: 'owning process, null when unknown (Windows: also for pid 0)', processName: 'its name', inode: 'socket inode (null on Windows)', uid: 'socket owner uid (null on Windows)' },
  fileinfo: { path: 'full device path', size: 'bytes', type: 'from the content (magic): ELF, PE, script, zip, text, data, …', mode: 'ls-style permissions (Windows: attributes, darhsl)', owner: 'user name (Windows: DOMAIN\\name)', group: 'group name (null on Windows)', mtime: 'ISO 8601', atime: 'ISO 8601', ctime: 'ISO 8601', birthtime: 'ISO 8601 when the file system records it', md5: 'hex', sha1: 'hex', sha256: 'hex (null above the 30 GB hashing limit)', architecture: 'ELF machine (x86-64, aarch64, …), null otherwise', peMachine: 'PE: x64, x86, ARM64, ARM64EC, ARM, IA64 or the machine number', peFormat: 'PE: PE32 or PE32+', peKind: 'PE: EXE or DLL', peSubsystem: 'PE: GUI, console, native, EFI application, …', peTimestamp: 'PE: link time, ISO 8601 (null when 0)', authenticode: 'PE: present (not verified), absent or malformed: whether a signature is carried, never a trust verdict', companyName: 'PE version resource', fileDescription: 'PE version resource', fileVersion: 'PE version resource (the fixed version when there is no string)', productName: 'PE version resource', productVersion: 'PE version resource', originalFilename: 'PE version resource', internalName: 'PE version resource' },
  getfile: { type: "'file' (first record: the file's metadata) or 'file-end' (last record)", path: 'full device path', size: 'bytes', mode: 'ls-style permissions', owner: 'user name', mtime: 'ISO 8601', atime: 'ISO 8601', ctime: 'ISO 8601', offset: 'byte the transfer starts from (resume)', sha256: 'hex, computed on the device while reading (file-end)', savedAs: SAVED_AS },
  findfile: { path: 'full device path of a match', type: 'as in dir', size: 'bytes', mtime: 'ISO 8601' },
  services: { name: 'unit or script name (Windows: service name)', kind: 'systemd, sysv or windows', state: 'active, inactive, failed, unknown (unknown without a running systemd; Windows: running, stopped, start_pending, stop_pending, paused, …)', subState: 'running, dead, … (Windows: the service type, own_process, share_process, …)', enabled: 'enabled, disabled, static, masked, unknown (Windows: the start type auto, delayed-auto, demand, disabled, boot, system, or unknown when its configuration is unreadable)', unitPath: 'unit file or init script path (Windows: the service registry key)', execStart: 'ExecStart= of the unit (Windows: ImagePath as configured, arguments included)', description: 'Description= of the unit (Windows: the display name)', account: 'Windows: the account it runs as (LocalSystem, NT AUTHORITY\\LocalService, …)', pid: 'Windows: process id while running, else null', serviceDescription: 'Windows: the service\'s description text' },
  drivers: { name: 'module name (Windows: the driver service name, or the module file name)', size: 'bytes in memory (Windows: SizeOfImage from the file, 0 when unreadable)', refCount: 'references (0 on Windows)', usedBy: 'modules using it (empty on Windows)', state: 'Live, Loading, Unloading (Windows: running or stopped)', path: 'module file, from modules.dep (Windows: the image as a Win32 path)', signer: 'module signer when known (Windows: the signer named in the Authenticode signature, not verified; unsigned; signed (signer unreadable))', taint: 'taint flags when any (null on Windows)', startType: 'Windows: boot, system, auto, demand, disabled', serviceType: 'Windows: kernel_driver or file_system_driver', displayName: 'Windows: display name', loaded: 'Windows: whether the kernel\'s module list has it (null when that list is unavailable)' },
  scheduledtasks: { kind: 'cron, systemd-timer, at, windows-task', source: 'file it comes from (Windows: the task file under System32\\Tasks)', user: 'user it runs as (Windows: the principal, SIDs named)', schedule: 'cron expression, @reboot, OnCalendar=…, hourly/daily/… (Windows: the triggers in words, e.g. at logon; daily at 09:00 from 2024-01-01)', command: 'what runs (Windows: each action, Exec command + arguments, COM handler {CLSID})', line: 'line number in source (cron)', name: 'Windows: the task path, \\Folder\\Name', enabled: 'Windows: Settings/Enabled', author: 'Windows: RegistrationInfo/Author', error: 'Windows: why the task file could not be read or parsed (the task is listed all the same)' },
  startupfolders: { kind: 'xdg-autostart, rc.local, profile.d, startup-folder', path: 'file', name: 'Name= or file name', exec: 'Exec= of the entry (Windows: the target of a .lnk with its arguments, the URL of a .url, the file itself otherwise)', owner: 'file owner (Windows: the user whose Startup folder holds it, or All Users)', mtime: 'ISO 8601', error: 'Windows: why a .lnk or a folder could not be read' },
  remediate: { id: 'quarantine entry id', type: 'file, process, service, scheduledtask, startupfolder', target: 'the entity, normalised (full path, pid, unit name, SOURCE:LINE)', state: 'remediated or restored', paths: 'device paths taken away (files, SOURCE:LINE of cron lines, links)', actions: 'what was done, in order (process stopped, link removed, file quarantined with its SHA-256, …)', createdAt: 'ISO 8601', jobId: 'command ID of the remediation', restoredAt: 'ISO 8601 of the undo, null while quarantined', restoreNotes: 'what undo put back (and what it could not, e.g. an owner without root)' },
  undo: { id: 'quarantine entry id', type: 'file, process, service, scheduledtask, startupfolder', target: 'the entity, normalised (full path, pid, unit name, SOURCE:LINE)', state: 'remediated or restored', paths: 'device paths taken away (files, SOURCE:LINE of cron lines, links)', actions: 'what was done, in order (process stopped, link removed, file quarantined with its SHA-256, …)', createdAt: 'ISO 8601', jobId: 'command ID of the remediation', restoredAt: 'ISO 8601 of the undo, null while quarantined', restoreNotes: 'what undo put back (and what it could not, e.g. an owner without root)' },
  isolate: { isolated: 'true once the rules are in place', backend: 'nftables (table inet lr_isolation) or iptables (chain LR_ISOLATION)', allowed: 'ADDRESS:PORT of the live response service, the only peer left reachable (with loopback)', changedAt: 'ISO 8601' },
  release: { isolated: 'false once the rules are removed', backend: 'the firewall the rules were removed from', allowed: 'empty', changedAt: 'ISO 8601', wasIsolated: 'whether the device was isolated before' },
  collect: { type: "'file' (first record: the package's metadata) or 'file-end' (last record)", path: 'the package on the device (deleted once sent)', size: 'bytes', mode: 'ls-style permissions', owner: 'user name', mtime: 'ISO 8601', atime: 'ISO 8601', ctime: 'ISO 8601', offset: 'always 0 (a package is not resumed)', sha256: 'hex, of the zip, computed on the device while sending (file-end)', members: 'files in the zip, manifest.json included', savedAs: SAVED_AS },
  analyze: { engine: 'indicators, yara, clamav, or overall (the last record)', ran: 'whether the engine ran', verdict: 'clean, malicious, suspicious, error, skipped (overall: malicious, suspicious, clean or unknown)', detail: 'what matched (rule names, signature, indicator) or why the engine did not run', path: 'the file analysed (a process: its image)', sha256: 'hex, computed on the device' },
  scan: { type: 'finding, error (a file clamscan could not scan) or summary (last record)', path: 'the file (summary: the scanned roots)', signature: 'ClamAV signature name (finding)', detail: 'error text, or the summary', engine: 'clamav' },
  persistence: { category: 'cron, systemd, init, shell-rc, ld-preload, authorized_keys, udev, modules-load, xdg-autostart, systemd-timer, at (Windows: run-key, runonce-key, winlogon, ifeo-debugger, appinit-dlls, service, scheduled-task, startup-folder)', path: 'file (Windows: the file the entry launches, resolved as Windows would: quotes, unquoted spaces, environment variables, search path, launchers such as rundll32 looked through)', owner: 'file owner (Windows: the account it runs for)', mode: 'ls-style permissions (null on Windows)', mtime: 'ISO 8601 (null when the file does not exist)', size: 'bytes (null when the file does not exist)', sha256: 'hex, null when unreadable or too large', detail: 'what matters inside (ExecStart, number of keys, …; Windows: where it was found = the command as stored, and notes)' },
  library: { name: 'file name', description: 'text', size: 'bytes', sha256: 'hex', uploadedBy: 'user', uploadedAt: 'ISO 8601', signature: 'signed (by a trusted publisher), unsigned, invalid (its publisher is no longer trusted)', publisher: 'publisher whose key signed it, null when unsigned', parametersDescription: 'text', parametersExample: 'an example of -parameters' },
  registry: { key: 'the key holding the entry (short hive name)', kind: 'subkey or value', name: "subkey or value name ('' is the default value)", type: 'REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD, REG_BINARY, REG_NONE, … (null for a subkey)', size: 'data bytes', data: 'one line as regedit shows it (text, 0x0000000a (10), ["a","b"], hex of the first 256 bytes)', value: 'the typed data: string, number (a QWORD above 2^53 as a decimal string), list of strings, or full hex', lastWrite: 'ISO 8601 (subkeys only: Windows keeps it per key)' },
  putfile: { name: 'library file name', path: "full device path in the agent's working folder", size: 'bytes', sha256: 'hex, verified on the device against the library', keep: 'false: removed at the next boot of the device' },
  run: { script: 'library script name', exitCode: 'exit code of the script (the command fails when not 0; Windows: unsigned 32-bit, a crash shows as e.g. 3221225477)', signal: 'signal that ended the script, null when it exited (always null on Windows)', durationMs: 'run time', stdoutBytes: 'bytes written to standard output (streamed as text)', stderrBytes: 'bytes written to standard error (streamed as text)' },
};

function paramLine(spec: CommandSpec): string[] {
  return spec.params.map((p) => {
    const names = [p.name, ...(p.aliases ?? [])];
    const named = names.map((n) => (p.type === 'flag' ? `\`-${n}\`` : `\`-${n} value\``)).join(' or ');
    const how = p.position !== undefined ? `\`<${p.name}>\` (position ${p.position + 1}) or ${named}` : named;
    return `| ${how} | ${p.type}${p.values ? ` (${p.values.join(', ')})` : ''} | ${p.required ? 'yes' : 'no'} | ${p.help} |`;
  });
}

const OS_NAMES: Readonly<Record<(typeof PLATFORMS)[number], string>> = { linux: 'Linux', darwin: 'macOS', win32: 'Windows' };

export function renderCommandDocs(): string {
  const out: string[] = [
    '# Console commands',
    '',
    '<!-- Generated from src/shared/catalog.ts and src/shared/command-docs.ts by `npm run docs:commands`. Do not edit by hand. -->',
    '',
    'Every command is available in the workstation console, in `lr shell`, in `lr exec DEVICE "LINE"` and through the REST API, with one grammar.',
    'Roles: **basic** < **advanced** < **admin** (a role may run every command of the roles below it).',
    'Time limits are enforced by the service: when one is reached the command is cancelled **on the agent** and logged as `timed_out`.',
    '',
    '## Grammar',
    '',
    '- `command positional1 positional2 -flag -name value`: positionals in a fixed order; any parameter can be named with a dash instead (`getfile -path "/tmp/a b.txt"`).',
    "- `\"...\"` and `'...'` group words; quoted pieces touching each other join into one word (`ab\"c d\"` is `abc d`). Backslash is always a literal character (Windows paths survive: `C:\\Users\\x`).",
    '- A word starting with `-` and a letter is a parameter name; `-5` is a positional; a quoted `"-x"` is a positional.',
    '- `-output json|table` is accepted by every command: JSON shows every field below; table shows the table columns. A trailing positional `json`/`table` works for commands without other positionals (`connections json`).',
    "- The reference console's parameter names work too: `remediate -type file -id PATH -auto` is `remediate file PATH -auto` (`-id` is another name of `-target` in `remediate`, `undo` and `analyze`).",
    '- `... > name.txt` saves the rendered output as evidence in the current case instead of showing it. `... &` runs in the background: the console prints the command ID; `jobs`, `fg <id>` and `status <id>` follow it.',
    '- Lines are at most 8192 characters. Every refusal (syntax, role, platform, limit, policy) is a one-line error and is recorded in the command log.',
    '- Keys in consoles: Ctrl+C cancels the foreground command on the agent; Ctrl+Z sends it to the background; ↑/↓ history; Tab completes commands and flags.',
    '',
    '## Limits',
    '',
    '- Sessions: 25 per tenant, 10 per user, 1 per device; idle timeout 30 minutes (a running command or transfer is activity).',
    '- Commands: 10 minutes; `getfile`, `findfile`, `run`: 30 minutes. `getfile` 3 GB; `fileinfo` hashing 30 GB; library files 250 MB.',
    '- All configurable in the service data folder (`config.json`, `limits`).',
    '',
    '## Summary',
    '',
    'Works on: `yes`, `not yet` (planned; today the service refuses it on that OS in one line, before anything is sent) or `no` (not on that OS). `help` on a device lists what works on its OS, described for that OS.',
    '',
    `| command | role | runs on | time limit | ${PLATFORMS.join(' | ')} |`,
    `|---|---|---|---|${PLATFORMS.map(() => '---|').join('')}`,
    ...CATALOG.map((c) => `| [\`${c.name}\`](#${c.name}) | ${c.role} | ${c.side} | ${c.timeLimitMinutes} min | ${PLATFORMS.map((p) => c.support[p]).join(' | ')} |`),
    '',
  ];
  for (const c of CATALOG) {
    const aliases = aliasesOf(c.name);
    out.push(`## ${c.name}`, '', `${c.summary}.${c.beyond ? ' *(Beyond the reference console.)*' : ''}${aliases.length ? ` Also: ${aliases.map((a) => `\`${a}\``).join(', ')}.` : ''}`, '', '```', c.syntax, '```', '');
    out.push(`- **Role:** ${c.role}`, `- **Runs on:** ${c.side}`, `- **Time limit:** ${c.timeLimitMinutes} minutes`, `- **Works on:** ${PLATFORMS.map((p) => `${p}: ${c.support[p]}`).join(', ')}`, '');
    for (const p of PLATFORMS) {
      const os = c.onOs?.[p];
      if (os?.summary) out.push(`**On ${OS_NAMES[p]}:** ${os.summary}.`, '');
      if (os?.examples?.length) out.push(`${OS_NAMES[p]} examples:`, '', '```', ...os.examples, '```', '');
    }
    if (c.params.length) out.push('| parameter | type | required | meaning |', '|---|---|---|---|', ...paramLine(c), '');
    if (c.fields?.length) {
      const docs = FIELD_DOCS[c.name] ?? {};
      out.push('JSON record fields (`-output json`):', '', '| field | meaning |', '|---|---|', ...c.fields.map((f) => `| \`${f}\` | ${docs[f] ?? ''} |`), '');
      if (c.tableFields) out.push(`Table columns: ${c.tableFields.map((f) => `\`${f}\``).join(', ')}.`, '');
    }
    if (c.examples.length) out.push('Examples:', '', '```', ...c.examples, '```', '');
  }
  return out.join('\n');
}

export function documentedFields(): Record<string, Record<string, string>> {
  return FIELD_DOCS;
}
