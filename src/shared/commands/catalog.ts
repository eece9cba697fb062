/**
 * The command catalog: what every console command is, who may run it, where it runs and how long it may take.
 * One table shared by the service (authorization, time limits), the clients (help, completion) and the agent
 * (each agent command file points at its entry). Pure data: no Node, no DOM.
 *
 * Each entry is the one definition of its command: parameters with their types and help, record fields with
 * their meanings. The grammar and binding, help (command-help.ts), docs/commands.md (command-docs.ts),
 * completion and the agent's parameter schema (command-params.ts) are derived from it; the entries keep their
 * literal types (`commandSpec('dir')`, `ParamsOf<'dir'>`) so an agent command that disagrees does not compile.
 */

export type Role = 'basic' | 'advanced' | 'admin';
export type Platform = 'linux' | 'darwin' | 'win32';
export type Support = 'yes' | 'not yet' | 'no';
export const PLATFORMS: readonly Platform[] = ['linux', 'darwin', 'win32'];

/** Where a command is executed. */
export type CommandSide =
  | 'client' // handled by the console itself (cls, connect)
  | 'service' // handled by the service without the agent (help, jobs, fg, status, trace, library)
  | 'agent'; // dispatched to the agent as a job

export interface ParamSpec {
  /** Parameter name, used as `-name value`. */
  name: string;
  /** Position among positionals, when it may be given positionally. */
  position?: number;
  /** `flag` takes no value (`-full_path`); `string`/`int` take one. */
  type: 'string' | 'int' | 'flag' | 'enum';
  values?: readonly string[];
  required?: boolean;
  /**
   * Other names the parameter answers to: the reference console's names (`remediate -type file -id PATH`).
   * The grammar and binding treat `-alias value` exactly as `-name value`.
   */
  aliases?: readonly string[];
  /** Completion hint for clients. */
  complete?: 'remotePath' | 'command' | 'library' | 'commandId';
  help: string;
}

export interface CommandSpec {
  name: string;
  role: Role;
  side: CommandSide;
  /** Time limit in minutes (server-enforced; cancels on the agent). */
  timeLimitMinutes: number;
  /**
   * Where the command runs today: every OS whose support is `yes` (derived from `support`). Elsewhere the
   * service refuses it in one line before anything is sent, and help and completion leave it out.
   */
  platforms: readonly Platform[];
  /** What works on each OS: `yes`, `not yet` (planned, refused today) or `no` (never there). */
  support: Readonly<Record<Platform, Support>>;
  /** What the command reads or shows on an OS where it differs from the summary and examples above (Windows). */
  onOs?: Readonly<Partial<Record<Platform, OsDescription>>>;
  params: readonly ParamSpec[];
  summary: string;
  syntax: string;
  examples: readonly string[];
  /** Names of the JSON record fields, in order (the keys of `fieldDocs`). Table view shows `tableFields`. */
  fields?: readonly string[];
  /** What each JSON record field means (docs/commands.md). */
  fieldDocs?: FieldDocs;
  tableFields?: readonly string[];
  /**
   * Answers one record (fileinfo): shown with every field (`field: value` lines in the workstation) unless
   * `-output table` asks for the `tableFields` columns.
   */
  singleRecord?: boolean;
  /** Marked when the spec goes beyond the reference console. */
  beyond?: boolean;
  /**
   * The command streams a file to the analyst's client (binary data frames): its frames go to the
   * session's console even while it runs in the background, because the client writes the file.
   */
  streamsFile?: boolean;
}

/** JSON record field name → what it means, in the order the fields are listed. */
export type FieldDocs = Readonly<Record<string, string>>;

/** A command's description on one OS (help on a device of that OS shows it). */
export interface OsDescription {
  summary?: string;
  examples?: readonly string[];
}

const TEN = 10;
const THIRTY = 30;

/** Service and console commands run in the service or the client: the device's OS does not matter. */
const EVERYWHERE: Record<Platform, Support> = { linux: 'yes', darwin: 'yes', win32: 'yes' };
/** Agent commands: Linux and Windows (src/agent/platform/linux, src/agent/platform/windows); macOS not yet. */
const LINUX_WINDOWS: Record<Platform, Support> = { linux: 'yes', darwin: 'not yet', win32: 'yes' };

const OUTPUT = {
  name: 'output',
  type: 'enum',
  values: ['json', 'table'],
  help: 'json (all fields) or table (fewer columns)',
} as const satisfies ParamSpec;

/**
 * One command as it is written in the catalog: everything about it in one place. `fields` maps each JSON
 * record field to its meaning (`fields` and `fieldDocs` of the built spec); `tableFields` must be among them.
 */
export type CommandDefinition = Omit<
  CommandSpec,
  'platforms' | 'support' | 'timeLimitMinutes' | 'fields' | 'fieldDocs'
> &
  Partial<Pick<CommandSpec, 'support' | 'timeLimitMinutes'>> & { fields?: FieldDocs };

/** `tableFields` are keys of `fields`: a column that is not a documented field does not compile. */
type TableFieldsOf<D> = D extends { fields: infer F }
  ? { tableFields?: readonly (keyof F & string)[] }
  : { tableFields?: never };

/** The parameters of a definition as built: `-output` added where the definition does not list it. */
type WithOutput<P extends readonly ParamSpec[]> = 'output' extends P[number]['name']
  ? P
  : readonly [...P, typeof OUTPUT];

/** A built spec that keeps its definition's literal name and parameters (see ParamsOf in command-params.ts). */
export type DefinedSpec<D extends CommandDefinition> = Omit<CommandSpec, 'name' | 'params'> & {
  readonly name: D['name'];
  readonly params: WithOutput<D['params']>;
};

/** Every command accepts `-output json|table` (the reference's rule): added where the entry does not list it. */
export function defineSpec<const D extends CommandDefinition>(d: D & TableFieldsOf<D>): DefinedSpec<D> {
  const { fields: fieldDocs, ...s } = d as CommandDefinition;
  const support = s.support ?? (s.side === 'agent' ? LINUX_WINDOWS : EVERYWHERE);
  const params = s.params.some((p) => p.name === 'output') ? s.params : [...s.params, OUTPUT];
  const fields = fieldDocs ? { fields: Object.keys(fieldDocs), fieldDocs } : {};
  return {
    timeLimitMinutes: TEN,
    ...s,
    ...fields,
    params,
    support,
    platforms: PLATFORMS.filter((p) => support[p] === 'yes'),
  } as CommandSpec as DefinedSpec<D>;
}

/** The summary and examples of `spec` on `platform` (its OS-specific description where it has one). */
export function describedOn(spec: CommandSpec, platform: string): { summary: string; examples: readonly string[] } {
  const os = spec.onOs?.[platform as Platform];
  return { summary: os?.summary ?? spec.summary, examples: os?.examples ?? spec.examples };
}

/** Why `spec` cannot run on a device of `platform` (one line), or null when it can. */
export function platformRefusal(spec: CommandSpec, platform: string): string | null {
  const support = spec.support[platform as Platform] as Support | undefined;
  if (support === 'yes') return null;
  const where = PLATFORMS.filter((p) => spec.support[p] === 'yes').join(', ');
  if (support === 'not yet') return `${spec.name}: not supported on this platform yet (${platform}; works on ${where})`;
  return `${spec.name}: not supported on this platform (${platform}${where ? `; works on ${where}` : ''})`;
}

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
} as const;
const SAVED_AS =
  'on the file-end record, printed by `lr exec` and `lr shell`: the local file written once its SHA-256 matched';
/** remediate and undo answer the same quarantine entry. */
const QUARANTINE_ENTRY_FIELDS = {
  id: 'quarantine entry id',
  type: 'file, process, service, scheduledtask, startupfolder',
  target: 'the entity, normalised (full path, pid, unit name, SOURCE:LINE)',
  state: 'remediated or restored',
  paths: 'device paths taken away (files, SOURCE:LINE of cron lines, links)',
  actions: 'what was done, in order (process stopped, link removed, file quarantined with its SHA-256, …)',
  createdAt: 'ISO 8601',
  jobId: 'command ID of the remediation',
  restoredAt: 'ISO 8601 of the undo, null while quarantined',
  restoreNotes: 'what undo put back (and what it could not, e.g. an owner without root)',
} as const;

/** The catalog, with the literal type of each entry (names and parameters) kept for ParamsOf and commandSpec. */
const DEFINED = [
  // --- session and job commands ---
  defineSpec({
    name: 'connect',
    role: 'basic',
    side: 'client',
    params: [],
    summary: 'Opens a live response session on the device',
    syntax: 'connect',
    examples: ['connect'],
  }),
  defineSpec({
    name: 'cls',
    role: 'basic',
    side: 'client',
    params: [],
    summary: 'Clears the console screen',
    syntax: 'cls',
    examples: ['cls'],
  }),
  defineSpec({
    name: 'help',
    role: 'basic',
    side: 'service',
    params: [{ name: 'command', position: 0, type: 'string', complete: 'command', help: 'command to describe' }],
    summary: 'Lists the commands available to you on this device, or describes one',
    syntax: 'help [command]',
    examples: ['help', 'help getfile', 'help remediate -output json'],
    fields: HELP_FIELDS,
    tableFields: ['name', 'summary'],
  }),
  defineSpec({
    name: 'jobs',
    role: 'basic',
    side: 'service',
    params: [
      {
        name: 'all',
        type: 'flag',
        help: "every command of this session, finished ones too (the console's own completion listings never appear)",
      },
      OUTPUT,
    ],
    summary: "Lists this session's running and background commands (-all: every command)",
    syntax: 'jobs [-all]',
    examples: ['jobs', 'jobs -all'],
    fields: {
      id: 'command ID',
      commandLine: 'as typed',
      state: 'pending, running, completed, failed, cancelled, timed_out, refused',
      startedAt: 'ISO 8601',
      duration: 'durationMs for people (1.2 s, 3m 05s)',
      durationMs: 'so far, for a running job',
      background: 'true when started with & or Ctrl+Z',
    },
    tableFields: ['id', 'commandLine', 'state', 'startedAt', 'duration'],
  }),
  defineSpec({
    name: 'fg',
    role: 'basic',
    side: 'service',
    params: [
      {
        name: 'id',
        position: 0,
        type: 'string',
        required: true,
        complete: 'commandId',
        help: 'command ID of a background job',
      },
    ],
    summary: 'Brings a background job to the foreground',
    syntax: 'fg <command ID>',
    examples: ['fg 1a2b3c'],
    fields: { id: 'command ID brought to the foreground', commandLine: 'as typed' },
  }),
  defineSpec({
    name: 'status',
    role: 'basic',
    side: 'service',
    params: [
      { name: 'id', position: 0, type: 'string', required: true, complete: 'commandId', help: 'command ID' },
      OUTPUT,
    ],
    summary: 'Shows the state and output of one command',
    syntax: 'status <command ID>',
    examples: ['status 1a2b3c'],
    fields: {
      id: 'command ID',
      commandLine: 'as typed',
      state: 'as in jobs',
      startedAt: 'ISO 8601',
      durationMs: 'milliseconds',
      output: 'the output as logged (records as JSON lines; may be truncated, see the command log)',
    },
  }),
  defineSpec({
    name: 'trace',
    role: 'basic',
    side: 'service',
    params: [
      {
        name: 'level',
        position: 0,
        type: 'enum',
        values: ['off', 'error', 'warn', 'info', 'debug'],
        help: 'verbosity (default info)',
      },
    ],
    summary: "Sets the agent's log verbosity for this session; trace lines are streamed into the console",
    syntax: 'trace [off|error|warn|info|debug]',
    examples: ['trace debug', 'trace off'],
    fields: { level: 'the verbosity now in force for this session' },
  }),
  // --- basic investigation commands ---
  defineSpec({
    name: 'cd',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: {
      win32: {
        summary: "Changes the session's current directory on the device (drive letters: cd D:\\)",
        examples: ['cd C:\\Windows\\System32', 'cd D:\\', 'cd ..'],
      },
    },
    params: [{ name: 'path', position: 0, type: 'string', required: true, complete: 'remotePath', help: 'directory' }],
    summary: "Changes the session's current directory on the device",
    syntax: 'cd <path>',
    examples: ['cd /var/log', 'cd ..'],
    fields: { path: 'the new current directory' },
  }),
  defineSpec({
    name: 'dir',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: { win32: { examples: ['dir', 'dir "C:\\Program Files" -full_path', 'dir C:\\Users\\Public -output json'] } },
    params: [
      { name: 'path', position: 0, type: 'string', complete: 'remotePath', help: 'directory (default: current)' },
      { name: 'full_path', type: 'flag', help: 'show full paths' },
      OUTPUT,
    ],
    summary: 'Lists a directory',
    syntax: 'dir [path] [-full_path]',
    examples: ['dir', 'dir /etc -full_path', 'dir -output json'],
    fields: {
      name: 'entry name',
      path: 'full device path',
      type: 'file, directory, symlink, fifo, socket, char-device, block-device',
      size: 'bytes',
      mode: "ls-style permissions, e.g. -rw-r--r-- (Windows: attributes in PowerShell's form darhsl, e.g. -a-h--)",
      owner: 'user name (uid when unknown; Windows: DOMAIN\\name, the SID when unnamed, null when unreadable)',
      group: 'group name (gid when unknown; null on Windows)',
      mtime: 'ISO 8601',
      linkTarget: 'symlink target (never followed)',
    },
    tableFields: ['mode', 'owner', 'size', 'mtime', 'name'],
  }),
  defineSpec({
    name: 'processes',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: { win32: { examples: ['processes', 'processes -pid 4', 'processes -name svchost -output json'] } },
    params: [
      { name: 'pid', type: 'int', help: 'one process id' },
      { name: 'name', type: 'string', help: 'process name' },
      OUTPUT,
    ],
    summary: 'Lists running processes',
    syntax: 'processes [-pid N | -name X]',
    examples: ['processes', 'processes -pid 1', 'processes -name sshd -output json'],
    fields: {
      pid: 'process id',
      ppid: 'parent process id',
      name: 'kernel command name (comm; Windows: the image name, e.g. svchost.exe)',
      user: 'owner (real uid) name (Windows: the token owner DOMAIN\\name; null when the process cannot be opened)',
      uid: 'real uid (null on Windows)',
      state: 'R, S, D, Z, T, … (Windows: running)',
      sessionId: 'Windows: the session id (null on Linux)',
      startTime: 'ISO 8601 (null on Windows when the process cannot be opened, as the fields below)',
      cmdline: 'arguments joined by spaces',
      path: 'executable path, null when unreadable',
      rssBytes: 'resident memory (Windows: working set)',
      cpuTimeMs: 'user + system CPU time',
    },
    tableFields: ['pid', 'ppid', 'user', 'state', 'rssBytes', 'name', 'cmdline'],
  }),
  defineSpec({
    name: 'connections',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    beyond: true,
    params: [OUTPUT],
    summary: 'Lists TCP/UDP sockets with their owning processes',
    syntax: 'connections',
    examples: ['connections', 'connections json'],
    fields: {
      protocol: 'tcp, tcp6, udp, udp6',
      localAddress: 'IPv4 dotted or IPv6 compressed',
      localPort: 'number',
      remoteAddress: 'as localAddress',
      remotePort: 'number (0 when none)',
      state: 'LISTEN, ESTABLISHED, TIME_WAIT, … (UDP: UNCONN or ESTABLISHED; Windows UDP: always UNCONN)',
      pid: 'owning process, null when unknown (Windows: also for pid 0)',
      processName: 'its name',
      inode: 'socket inode (null on Windows)',
      uid: 'socket owner uid (null on Windows)',
    },
    tableFields: [
      'protocol',
      'localAddress',
      'localPort',
      'remoteAddress',
      'remotePort',
      'state',
      'pid',
      'processName',
    ],
  }),
  defineSpec({
    name: 'fileinfo',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: {
      win32: {
        summary:
          'Shows size, attributes, times and hashes of a file, and for a PE its machine, subsystem, version resource and whether it carries an Authenticode signature',
        examples: ['fileinfo C:\\Windows\\System32\\notepad.exe'],
      },
    },
    params: [
      { name: 'path', position: 0, type: 'string', required: true, complete: 'remotePath', help: 'file' },
      OUTPUT,
    ],
    summary: 'Shows size, type, mode, owner, times and hashes of a file',
    syntax: 'fileinfo <path>',
    examples: ['fileinfo /usr/bin/ls'],
    fields: {
      path: 'full device path',
      size: 'bytes',
      type: 'from the content (magic): ELF, PE, script, zip, text, data, …',
      mode: 'ls-style permissions (Windows: attributes, darhsl)',
      owner: 'user name (Windows: DOMAIN\\name)',
      group: 'group name (null on Windows)',
      mtime: 'ISO 8601',
      atime: 'ISO 8601',
      ctime: 'ISO 8601',
      birthtime: 'ISO 8601 when the file system records it',
      md5: 'hex',
      sha1: 'hex',
      sha256: 'hex (null above the 30 GB hashing limit)',
      architecture: 'ELF machine (x86-64, aarch64, …), null otherwise',
      peMachine: 'PE: x64, x86, ARM64, ARM64EC, ARM, IA64 or the machine number',
      peFormat: 'PE: PE32 or PE32+',
      peKind: 'PE: EXE or DLL',
      peSubsystem: 'PE: GUI, console, native, EFI application, …',
      peTimestamp: 'PE: link time, ISO 8601 (null when 0)',
      authenticode:
        'PE: present (not verified), absent or malformed: whether a signature is carried, never a trust verdict',
      companyName: 'PE version resource',
      fileDescription: 'PE version resource',
      fileVersion: 'PE version resource (the fixed version when there is no string)',
      productName: 'PE version resource',
      productVersion: 'PE version resource',
      originalFilename: 'PE version resource',
      internalName: 'PE version resource',
    },
    tableFields: ['type', 'size', 'mode', 'owner', 'mtime', 'sha256', 'path'],
    singleRecord: true,
  }),
  defineSpec({
    name: 'findfile',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: {
      win32: {
        summary: 'Finds files by name or glob on every fixed drive (or under -path), streaming matches as found',
        examples: ['findfile "*.ps1"', 'findfile dropper.exe -path C:\\Users'],
      },
    },
    timeLimitMinutes: THIRTY,
    params: [
      { name: 'name', position: 0, type: 'string', required: true, help: 'file name or glob (* ?)' },
      { name: 'path', type: 'string', complete: 'remotePath', help: 'root of the walk (default /)' },
      OUTPUT,
    ],
    summary: 'Finds files by name or glob, streaming matches as found',
    syntax: 'findfile <name-or-glob> [-path root]',
    examples: ['findfile authorized_keys', 'findfile "*.so" -path /tmp'],
    fields: { path: 'full device path of a match', type: 'as in dir', size: 'bytes', mtime: 'ISO 8601' },
    tableFields: ['size', 'mtime', 'path'],
  }),
  defineSpec({
    name: 'getfile',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: {
      win32: {
        examples: ['getfile C:\\Windows\\System32\\drivers\\etc\\hosts', 'getfile "C:\\Program Files\\App\\app.log" &'],
      },
    },
    timeLimitMinutes: THIRTY,
    streamsFile: true,
    params: [
      { name: 'path', position: 0, type: 'string', required: true, complete: 'remotePath', help: 'file to download' },
      { name: 'auto', type: 'flag', help: 'run the prerequisite step automatically' },
      { name: 'offset', type: 'int', help: 'resume a download from this byte (clients set it when they resume)' },
      {
        name: 'restart',
        type: 'flag',
        help: 'discard the partial download kept from an earlier run and start from byte 0 (handled by the workstation; never sent to the device)',
      },
      OUTPUT,
    ],
    summary: "Downloads a file into the analyst's evidence store",
    syntax: 'getfile <path> [-auto] [-restart]',
    examples: ['getfile /var/log/auth.log', 'getfile "/tmp/a b.bin" &'],
    fields: {
      type: "'file' (first record: the file's metadata) or 'file-end' (last record)",
      path: 'full device path',
      size: 'bytes',
      mode: 'ls-style permissions',
      owner: 'user name',
      mtime: 'ISO 8601',
      atime: 'ISO 8601',
      ctime: 'ISO 8601',
      offset: 'byte the transfer starts from (resume)',
      sha256: 'hex, computed on the device while reading (file-end)',
      savedAs: SAVED_AS,
    },
    tableFields: ['type', 'size', 'mtime', 'sha256', 'path', 'savedAs'],
  }),
  defineSpec({
    name: 'services',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: {
      win32: {
        summary: 'Lists Windows services from the service control manager: state, start type, binary path, account',
        examples: ['services', 'services -output json'],
      },
    },
    beyond: true,
    params: [OUTPUT],
    summary: 'Lists systemd units and SysV init scripts',
    syntax: 'services',
    examples: ['services'],
    fields: {
      name: 'unit or script name (Windows: service name)',
      kind: 'systemd, sysv or windows',
      state:
        'active, inactive, failed, unknown (unknown without a running systemd; Windows: running, stopped, start_pending, stop_pending, paused, …)',
      subState: 'running, dead, … (Windows: the service type, own_process, share_process, …)',
      enabled:
        'enabled, disabled, static, masked, unknown (Windows: the start type auto, delayed-auto, demand, disabled, boot, system, or unknown when its configuration is unreadable)',
      unitPath: 'unit file or init script path (Windows: the service registry key)',
      execStart: 'ExecStart= of the unit (Windows: ImagePath as configured, arguments included)',
      description: 'Description= of the unit (Windows: the display name)',
      account: 'Windows: the account it runs as (LocalSystem, NT AUTHORITY\\LocalService, …)',
      pid: 'Windows: process id while running, else null',
      serviceDescription: "Windows: the service's description text",
    },
    tableFields: ['name', 'kind', 'state', 'enabled', 'execStart'],
  }),
  defineSpec({
    name: 'drivers',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: {
      win32: {
        summary: 'Lists kernel drivers with their image paths and whether the image carries a signature',
        examples: ['drivers'],
      },
    },
    beyond: true,
    params: [OUTPUT],
    summary: 'Lists loaded kernel modules',
    syntax: 'drivers',
    examples: ['drivers'],
    fields: {
      name: 'module name (Windows: the driver service name, or the module file name)',
      size: 'bytes in memory (Windows: SizeOfImage from the file, 0 when unreadable)',
      refCount: 'references (0 on Windows)',
      usedBy: 'modules using it (empty on Windows)',
      state: 'Live, Loading, Unloading (Windows: running or stopped)',
      path: 'module file, from modules.dep (Windows: the image as a Win32 path)',
      signer:
        'module signer when known (Windows: the signer named in the Authenticode signature, not verified; unsigned; signed (signer unreadable))',
      taint: 'taint flags when any (null on Windows)',
      startType: 'Windows: boot, system, auto, demand, disabled',
      serviceType: 'Windows: kernel_driver or file_system_driver',
      displayName: 'Windows: display name',
      loaded: "Windows: whether the kernel's module list has it (null when that list is unavailable)",
    },
    tableFields: ['name', 'size', 'refCount', 'state', 'signer', 'taint'],
  }),
  defineSpec({
    name: 'scheduledtasks',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: {
      win32: {
        summary: 'Lists the scheduled tasks of the task store (System32\\Tasks): triggers, actions, principal, author',
        examples: ['scheduledtasks'],
      },
    },
    beyond: true,
    params: [OUTPUT],
    summary: 'Lists cron entries, systemd timers and at jobs',
    syntax: 'scheduledtasks',
    examples: ['scheduledtasks'],
    fields: {
      kind: 'cron, systemd-timer, at, windows-task',
      source: 'file it comes from (Windows: the task file under System32\\Tasks)',
      user: 'user it runs as (Windows: the principal, SIDs named)',
      schedule:
        'cron expression, @reboot, OnCalendar=…, hourly/daily/… (Windows: the triggers in words, e.g. at logon; daily at 09:00 from 2024-01-01)',
      command: 'what runs (Windows: each action, Exec command + arguments, COM handler {CLSID})',
      line: 'line number in source (cron)',
      name: 'Windows: the task path, \\Folder\\Name',
      enabled: 'Windows: Settings/Enabled',
      author: 'Windows: RegistrationInfo/Author',
      error: 'Windows: why the task file could not be read or parsed (the task is listed all the same)',
    },
    tableFields: ['kind', 'name', 'user', 'enabled', 'schedule', 'command', 'source'],
  }),
  defineSpec({
    name: 'startupfolders',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: {
      win32: {
        summary: "Lists the items of the all-users and every user's Startup folder, with the targets of .lnk files",
        examples: ['startupfolders'],
      },
    },
    beyond: true,
    params: [OUTPUT],
    summary: 'Lists XDG autostart entries, rc.local and /etc/profile.d items',
    syntax: 'startupfolders',
    examples: ['startupfolders'],
    fields: {
      kind: 'xdg-autostart, rc.local, profile.d, startup-folder',
      path: 'file',
      name: 'Name= or file name',
      exec: 'Exec= of the entry (Windows: the target of a .lnk with its arguments, the URL of a .url, the file itself otherwise)',
      owner: 'file owner (Windows: the user whose Startup folder holds it, or All Users)',
      mtime: 'ISO 8601',
      error: 'Windows: why a .lnk or a folder could not be read',
    },
    tableFields: ['kind', 'owner', 'name', 'exec', 'path'],
  }),
  defineSpec({
    name: 'persistence',
    role: 'basic',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: {
      win32: {
        summary:
          "Lists Run/RunOnce keys (every user, both views), Winlogon, IFEO debuggers, AppInit_DLLs, unusual services, scheduled tasks and Startup items, with the launched file's SHA-256",
        examples: ['persistence', 'persistence -output json'],
      },
    },
    beyond: true,
    params: [OUTPUT],
    summary: 'Lists known Linux persistence locations with owner, mtime and SHA-256',
    syntax: 'persistence',
    examples: ['persistence', 'persistence -output json'],
    fields: {
      category:
        'cron, systemd, init, shell-rc, ld-preload, authorized_keys, udev, modules-load, xdg-autostart, systemd-timer, at (Windows: run-key, runonce-key, winlogon, ifeo-debugger, appinit-dlls, service, scheduled-task, startup-folder)',
      path: 'file (Windows: the file the entry launches, resolved as Windows would: quotes, unquoted spaces, environment variables, search path, launchers such as rundll32 looked through)',
      owner: 'file owner (Windows: the account it runs for)',
      mode: 'ls-style permissions (null on Windows)',
      mtime: 'ISO 8601 (null when the file does not exist)',
      size: 'bytes (null when the file does not exist)',
      sha256: 'hex, null when unreadable or too large',
      detail:
        'what matters inside (ExecStart, number of keys, …; Windows: where it was found = the command as stored, and notes)',
    },
    tableFields: ['category', 'owner', 'mtime', 'path', 'detail'],
  }),
  defineSpec({
    name: 'registry',
    role: 'basic',
    side: 'agent',
    support: { linux: 'no', darwin: 'no', win32: 'yes' },
    params: [{ name: 'key', position: 0, type: 'string', required: true, help: 'key[\\\\value]' }, OUTPUT],
    summary: 'Shows a Windows registry key (its subkeys and values with their types) or one value',
    syntax: 'registry <key>[\\\\value]',
    examples: [
      'registry HKEY_LOCAL_MACHINE\\SYSTEM',
      'registry "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\\\ProductName"',
      'registry HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run',
    ],
    fields: {
      key: 'the key holding the entry (short hive name)',
      kind: 'subkey or value',
      name: "subkey or value name ('' is the default value)",
      type: 'REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ, REG_DWORD, REG_QWORD, REG_BINARY, REG_NONE, … (null for a subkey)',
      size: 'data bytes',
      data: 'one line as regedit shows it (text, 0x0000000a (10), ["a","b"], hex of the first 256 bytes)',
      value: 'the typed data: string, number (a QWORD above 2^53 as a decimal string), list of strings, or full hex',
      lastWrite: 'ISO 8601 (subkeys only: Windows keeps it per key)',
    },
    tableFields: ['kind', 'name', 'type', 'data', 'lastWrite'],
  }),
  // --- advanced commands ---
  defineSpec({
    name: 'library',
    role: 'advanced',
    side: 'service',
    params: [
      { name: 'action', position: 0, type: 'enum', values: ['delete'], help: 'delete' },
      { name: 'name', position: 1, type: 'string', complete: 'library', help: 'library file' },
      OUTPUT,
    ],
    summary: "Lists the tenant's library, or deletes a file from it",
    syntax: 'library | library delete <name>',
    examples: ['library', 'library delete script.sh'],
    fields: {
      name: 'file name',
      description: 'text',
      size: 'bytes',
      sha256: 'hex',
      uploadedBy: 'user',
      uploadedAt: 'ISO 8601',
      signature: 'signed (by a trusted publisher), unsigned, invalid (its publisher is no longer trusted)',
      publisher: 'publisher whose key signed it, null when unsigned',
      parametersDescription: 'text',
      parametersExample: 'an example of -parameters',
    },
    tableFields: ['name', 'size', 'signature', 'uploadedBy', 'uploadedAt', 'description', 'parametersDescription'],
  }),
  defineSpec({
    name: 'putfile',
    role: 'advanced',
    side: 'agent',
    support: LINUX_WINDOWS,
    params: [
      { name: 'name', position: 0, type: 'string', required: true, complete: 'library', help: 'library file' },
      { name: 'overwrite', type: 'flag', help: 'replace an existing file' },
      {
        name: 'keep',
        type: 'flag',
        help: 'keep after reboot (Linux; on Windows the file stays in the session folder)',
      },
      OUTPUT,
    ],
    summary: "Copies a library file into the agent's working folder",
    syntax: 'putfile <library file> [-overwrite] [-keep]',
    examples: ['putfile tool.sh', 'putfile tool.sh -overwrite -keep'],
    fields: {
      name: 'library file name',
      path: "full device path in the agent's working folder",
      size: 'bytes',
      sha256: 'hex, verified on the device against the library',
      keep: 'false: removed at the next boot of the device',
    },
  }),
  defineSpec({
    name: 'run',
    role: 'advanced',
    side: 'agent',
    support: LINUX_WINDOWS,
    onOs: {
      win32: {
        summary:
          'Runs a library script (.ps1 through PowerShell, .bat/.cmd through cmd.exe) or a Windows executable on the device',
        examples: [
          'run triage.ps1 -parameters "-Days 3"',
          'run collect.bat -parameters "C:\\Temp"',
          'run autoruns.exe',
        ],
      },
    },
    timeLimitMinutes: THIRTY,
    params: [
      {
        name: 'script',
        position: 0,
        type: 'string',
        required: true,
        complete: 'library',
        help: 'library script (.sh, .py, .ps1, .bat, .cmd) or executable (ELF on Linux, .exe on Windows)',
      },
      {
        name: 'parameters',
        type: 'string',
        help: 'arguments, split like a command line (quotes group words); never through a shell; ; & | ! $ are refused (for .bat/.cmd also < > ^ % " ( ) and control characters)',
      },
      OUTPUT,
    ],
    summary: 'Runs a library script or ELF executable (Linux) on the device',
    syntax: 'run <script> [-parameters "..."]',
    examples: [
      'run collect.sh -parameters "-d /tmp"',
      'run triage.py -parameters "\'two words\' -v"',
      'run collector -parameters "--fast"',
    ],
    fields: {
      script: 'library script name',
      exitCode:
        'exit code of the script (the command fails when not 0; Windows: unsigned 32-bit, a crash shows as e.g. 3221225477)',
      signal: 'signal that ended the script, null when it exited (always null on Windows)',
      durationMs: 'run time',
      stdoutBytes: 'bytes written to standard output (streamed as text)',
      stderrBytes: 'bytes written to standard error (streamed as text)',
    },
  }),
  defineSpec({
    name: 'remediate',
    role: 'advanced',
    side: 'agent',
    params: [
      {
        name: 'type',
        position: 0,
        type: 'enum',
        values: ['file', 'process', 'service', 'scheduledtask', 'startupfolder', 'registry', 'list'],
        required: true,
        help: 'entity type (registry: Windows only), or list',
      },
      {
        name: 'target',
        aliases: ['id'],
        position: 1,
        type: 'string',
        help: 'file path, pid, unit or service name, crontab SOURCE:LINE / timer unit / task path, startup item path or name, registry value KEY\\\\NAME',
      },
      {
        name: 'auto',
        type: 'flag',
        help: 'run the prerequisite step first: file: stop the processes running it (refused without -auto); process: stop its whole tree',
      },
      {
        name: 'force',
        type: 'flag',
        help: 'Linux: take a system-critical target anyway (account databases, the loader, /bin, /usr/lib, /boot, systemd units: docs/response-actions.md); never the agent itself or init',
      },
      {
        name: 'sha256',
        type: 'string',
        help: 'file: act only if the file still has this SHA-256 (the workstation pins the file it showed before asking)',
      },
      OUTPUT,
    ],
    summary: 'Quarantines a file, stops a process, disables a service, removes a task or startup item',
    syntax:
      'remediate <type> <target> [-auto] [-force] [-sha256 <hex>] | remediate -type <type> -id <target> [-auto] | remediate list',
    examples: [
      'remediate file /tmp/x',
      'remediate -type file -id /tmp/x -auto',
      'remediate process 4242 -auto',
      'remediate service evil.service',
      'remediate scheduledtask /etc/crontab:12',
      'remediate startupfolder /etc/xdg/autostart/x.desktop',
      'remediate list',
    ],
    fields: QUARANTINE_ENTRY_FIELDS,
    tableFields: ['id', 'type', 'target', 'state', 'createdAt', 'actions'],
  }),
  defineSpec({
    name: 'undo',
    role: 'advanced',
    side: 'agent',
    beyond: true,
    params: [
      {
        name: 'type',
        position: 0,
        type: 'enum',
        values: ['file', 'process', 'service', 'scheduledtask', 'startupfolder', 'registry'],
        required: true,
        help: 'entity type',
      },
      {
        name: 'target',
        aliases: ['id'],
        position: 1,
        type: 'string',
        required: true,
        help: 'the target given to remediate (or the quarantine entry id)',
      },
      OUTPUT,
    ],
    summary: 'Restores a remediated entity',
    syntax: 'undo <type> <target> | undo -type <type> -id <target>',
    examples: ['undo file /tmp/x', 'undo -type file -id /tmp/x', 'undo scheduledtask /etc/crontab:12'],
    fields: QUARANTINE_ENTRY_FIELDS,
    tableFields: ['id', 'type', 'target', 'state', 'createdAt', 'actions'],
  }),
  defineSpec({
    name: 'isolate',
    role: 'advanced',
    side: 'agent',
    params: [],
    summary: 'Cuts the device off the network except the live response service',
    syntax: 'isolate',
    examples: ['isolate'],
    fields: {
      isolated: 'true once the rules are in place',
      backend: 'nftables (table inet lr_isolation) or iptables (chain LR_ISOLATION)',
      allowed: 'ADDRESS:PORT of the live response service, the only peer left reachable (with loopback)',
      changedAt: 'ISO 8601',
    },
  }),
  defineSpec({
    name: 'release',
    role: 'advanced',
    side: 'agent',
    params: [],
    summary: 'Releases the device from isolation',
    syntax: 'release',
    examples: ['release'],
    fields: {
      isolated: 'false once the rules are removed',
      backend: 'the firewall the rules were removed from',
      allowed: 'empty',
      changedAt: 'ISO 8601',
      wasIsolated: 'whether the device was isolated before',
    },
  }),
  defineSpec({
    name: 'collect',
    role: 'advanced',
    side: 'agent',
    onOs: {
      win32: {
        summary:
          'Builds and downloads an investigation package: event logs (.evtx), the task store, Run/services/IFEO registry exports, installed programs, prefetch list, Startup items, processes, connections, hosts',
      },
    },
    streamsFile: true,
    params: [OUTPUT],
    summary: 'Builds and downloads an investigation package',
    syntax: 'collect',
    examples: ['collect'],
    fields: {
      type: "'file' (first record: the package's metadata) or 'file-end' (last record)",
      path: 'the package on the device (deleted once sent)',
      size: 'bytes',
      mode: 'ls-style permissions',
      owner: 'user name',
      mtime: 'ISO 8601',
      atime: 'ISO 8601',
      ctime: 'ISO 8601',
      offset: 'always 0 (a package is not resumed)',
      sha256: 'hex, of the zip, computed on the device while sending (file-end)',
      members: 'files in the zip, manifest.json included',
      savedAs: SAVED_AS,
    },
    tableFields: ['type', 'size', 'members', 'sha256', 'path', 'savedAs'],
  }),
  defineSpec({
    name: 'analyze',
    role: 'advanced',
    side: 'agent',
    onOs: {
      win32: {
        summary:
          'Gives a verdict on a file or process from several engines (tenant indicators; ClamAV where installed; YARA not yet on Windows)',
        examples: ['analyze file C:\\Users\\Public\\dropper.exe', 'analyze process 4242'],
      },
    },
    params: [
      { name: 'type', position: 0, type: 'enum', values: ['file', 'process'], required: true, help: 'file or process' },
      { name: 'target', aliases: ['id'], position: 1, type: 'string', required: true, help: 'path or pid' },
      OUTPUT,
    ],
    summary: 'Gives a verdict on a file or process from several engines',
    syntax: 'analyze <file|process> <target> | analyze -type <file|process> -id <target>',
    examples: ['analyze file /tmp/x', 'analyze process 4242'],
    fields: {
      engine: 'indicators, yara, clamav, or overall (the last record)',
      ran: 'whether the engine ran',
      verdict: 'clean, malicious, suspicious, error, skipped (overall: malicious, suspicious, clean or unknown)',
      detail: 'what matched (rule names, signature, indicator) or why the engine did not run',
      path: 'the file analysed (a process: its image)',
      sha256: 'hex, computed on the device',
    },
    tableFields: ['engine', 'ran', 'verdict', 'detail'],
  }),
  defineSpec({
    name: 'scan',
    role: 'advanced',
    side: 'agent',
    onOs: {
      win32: {
        summary:
          "Runs Microsoft Defender's command-line scanner (MpCmdRun, never remediating); refused where it is not present",
        examples: ['scan quick', 'scan -path C:\\Users\\Public'],
      },
    },
    params: [
      { name: 'mode', position: 0, type: 'enum', values: ['quick', 'full'], help: 'quick or full' },
      { name: 'path', type: 'string', complete: 'remotePath', help: 'path to scan' },
      OUTPUT,
    ],
    summary: 'Runs an antivirus scan with the installed engine',
    syntax: 'scan [quick|full] [-path p]',
    examples: ['scan quick', 'scan full', 'scan -path /srv/upload'],
    fields: {
      type: 'finding, error (a file clamscan could not scan) or summary (last record)',
      path: 'the file (summary: the scanned roots)',
      signature: 'ClamAV signature name (finding)',
      detail: 'error text, or the summary',
      engine: 'clamav',
    },
    tableFields: ['type', 'signature', 'path', 'detail'],
  }),
] as const;

export const CATALOG: readonly CommandSpec[] = DEFINED;

/** The name of a command in the catalog (`'dir' | 'getfile' | …`). */
export type CommandName = (typeof DEFINED)[number]['name'];
/** The catalog entry of `N`, with its literal parameters. */
export type SpecOf<N extends CommandName> = Extract<(typeof DEFINED)[number], { name: N }>;

const BY_NAME = new Map(CATALOG.map((c) => [c.name, c]));

/** Other words the reference console uses for a command (`download` is its other name for getfile). */
export const COMMAND_ALIASES: Readonly<Record<string, string>> = { download: 'getfile' };

/** The catalog name of a command word (lower case), aliases resolved. */
/** The other words for a command (`getfile` → `download`). */
export function aliasesOf(name: string): string[] {
  return Object.keys(COMMAND_ALIASES).filter((a) => COMMAND_ALIASES[a] === name);
}

export function canonicalName(name: string): string {
  return Object.hasOwn(COMMAND_ALIASES, name) ? (COMMAND_ALIASES[name] as string) : name;
}

/** The entry of a command word (aliases resolved), in the catalog or in `catalog` (a test's own). */
export function findCommand(name: string, catalog: readonly CommandSpec[] = CATALOG): CommandSpec | undefined {
  const canonical = canonicalName(name);
  return catalog === CATALOG ? BY_NAME.get(canonical) : catalog.find((c) => c.name === canonical);
}

/** The catalog entry of a command named in code (`commandSpec('dir')`): never undefined, literal parameters kept. */
export function commandSpec<N extends CommandName>(name: N): SpecOf<N> {
  const spec = BY_NAME.get(name);
  if (!spec) throw new Error(`${name} is not in the command catalog`); // unreachable: N is a catalog name
  return spec as SpecOf<N>;
}

/** The parameter `-name` stands for, by its name or one of its aliases (`-id` is remediate's `target`). */
export function findParam(spec: CommandSpec, name: string): ParamSpec | undefined {
  return spec.params.find((p) => p.name === name) ?? spec.params.find((p) => p.aliases?.includes(name));
}

const RANK: Record<Role, number> = { basic: 0, advanced: 1, admin: 2 };

/** Whether a user with `role` may run a command that needs `needed`. */
export function roleAllows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** Time limit in milliseconds of a command, scaled by `scale` (tests shrink limits; 1 in production). */
export function timeLimitMs(spec: CommandSpec): number {
  return spec.timeLimitMinutes * 60_000;
}

/** The table columns a command's records are shown with, for the output asked (see `singleRecord`). */
export function tableFieldsFor(spec: CommandSpec, output: 'json' | 'table' | undefined): string[] | undefined {
  if (!spec.tableFields || (spec.singleRecord && output !== 'table')) return undefined;
  return [...spec.tableFields];
}
