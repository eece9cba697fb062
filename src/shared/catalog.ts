/**
 * The command catalog: what every console command is, who may run it, where it runs and how long it may take.
 * One table shared by the service (authorization, time limits), the clients (help, completion) and the agent
 * (each agent command file points at its entry). Pure data: no Node, no DOM.
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
  /** Names of the JSON record fields (documented in docs/commands.md). Table view shows `tableFields`. */
  fields?: readonly string[];
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

const OUTPUT: ParamSpec = { name: 'output', type: 'enum', values: ['json', 'table'], help: 'json (all fields) or table (fewer columns)' };

type SpecInput = Omit<CommandSpec, 'platforms' | 'support' | 'timeLimitMinutes'> & Partial<Pick<CommandSpec, 'support' | 'timeLimitMinutes'>>;

/** Every command accepts `-output json|table` (the reference's rule): added where the entry does not list it. */
function spec(s: SpecInput): CommandSpec {
  const support = s.support ?? (s.side === 'agent' ? LINUX_WINDOWS : EVERYWHERE);
  const params = s.params.some((p) => p.name === 'output') ? s.params : [...s.params, OUTPUT];
  return { timeLimitMinutes: TEN, ...s, params, support, platforms: PLATFORMS.filter((p) => support[p] === 'yes') };
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

export const CATALOG: readonly CommandSpec[] = [
  // --- session and job commands ---
  spec({ name: 'connect', role: 'basic', side: 'client', params: [], summary: 'Opens a live response session on the device', syntax: 'connect', examples: ['connect'] }),
  spec({ name: 'cls', role: 'basic', side: 'client', params: [], summary: 'Clears the console screen', syntax: 'cls', examples: ['cls'] }),
  spec({
    name: 'help', role: 'basic', side: 'service',
    params: [{ name: 'command', position: 0, type: 'string', complete: 'command', help: 'command to describe' }],
    summary: 'Lists the commands available to you on this device, or describes one', syntax: 'help [command]', examples: ['help', 'help getfile', 'help remediate -output json'],
    fields: ['name', 'summary', 'syntax', 'role', 'side', 'timeLimitMinutes', 'support', 'params', 'examples', 'beyond'], tableFields: ['name', 'summary'],
  }),
  spec({
    name: 'jobs', role: 'basic', side: 'service',
    params: [{ name: 'all', type: 'flag', help: "every command of this session, finished ones too (the console's own completion listings never appear)" }, OUTPUT],
    summary: "Lists this session's running and background commands (-all: every command)", syntax: 'jobs [-all]', examples: ['jobs', 'jobs -all'],
    fields: ['id', 'commandLine', 'state', 'startedAt', 'duration', 'durationMs', 'background'], tableFields: ['id', 'commandLine', 'state', 'startedAt', 'duration'],
  }),
  spec({
    name: 'fg', role: 'basic', side: 'service',
    params: [{ name: 'id', position: 0, type: 'string', required: true, complete: 'commandId', help: 'command ID of a background job' }],
    summary: 'Brings a background job to the foreground', syntax: 'fg <command ID>', examples: ['fg 1a2b3c'],
    fields: ['id', 'commandLine'],
  }),
  spec({
    name: 'status', role: 'basic', side: 'service',
    params: [{ name: 'id', position: 0, type: 'string', required: true, complete: 'commandId', help: 'command ID' }, OUTPUT],
    summary: 'Shows the state and output of one command', syntax: 'status <command ID>', examples: ['status 1a2b3c'],
    fields: ['id', 'commandLine', 'state', 'startedAt', 'durationMs', 'output'],
  }),
  spec({
    name: 'trace', role: 'basic', side: 'service',
    params: [{ name: 'level', position: 0, type: 'enum', values: ['off', 'error', 'warn', 'info', 'debug'], help: 'verbosity (default info)' }],
    summary: "Sets the agent's log verbosity for this session; trace lines are streamed into the console", syntax: 'trace [off|error|warn|info|debug]', examples: ['trace debug', 'trace off'],
    fields: ['level'],
  }),
  // --- basic investigation commands ---
  spec({
    name: 'cd', role: 'basic', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { summary: 'Changes the session\'s current directory on the device (drive letters: cd D:\\)', examples: ['cd C:\\Windows\\System32', 'cd D:\\', 'cd ..'] } },
    params: [{ name: 'path', position: 0, type: 'string', required: true, complete: 'remotePath', help: 'directory' }],
    summary: "Changes the session's current directory on the device", syntax: 'cd <path>', examples: ['cd /var/log', 'cd ..'],
    fields: ['path'],
  }),
  spec({
    name: 'dir', role: 'basic', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { examples: ['dir', 'dir "C:\\Program Files" -full_path', 'dir C:\\Users\\Public -output json'] } },
    params: [{ name: 'path', position: 0, type: 'string', complete: 'remotePath', help: 'directory (default: current)' }, { name: 'full_path', type: 'flag', help: 'show full paths' }, OUTPUT],
    summary: 'Lists a directory', syntax: 'dir [path] [-full_path]', examples: ['dir', 'dir /etc -full_path', 'dir -output json'],
    fields: ['name', 'path', 'type', 'size', 'mode', 'owner', 'group', 'mtime', 'linkTarget'], tableFields: ['mode', 'owner', 'size', 'mtime', 'name'],
  }),
  spec({
    name: 'processes', role: 'basic', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { examples: ['processes', 'processes -pid 4', 'processes -name svchost -output json'] } },
    params: [{ name: 'pid', type: 'int', help: 'one process id' }, { name: 'name', type: 'string', help: 'process name' }, OUTPUT],
    summary: 'Lists running processes', syntax: 'processes [-pid N | -name X]', examples: ['processes', 'processes -pid 1', 'processes -name sshd -output json'],
    fields: ['pid', 'ppid', 'name', 'user', 'uid', 'state', 'sessionId', 'startTime', 'cmdline', 'path', 'rssBytes', 'cpuTimeMs'], tableFields: ['pid', 'ppid', 'user', 'state', 'rssBytes', 'name', 'cmdline'],
  }),
  spec({
    name: 'connections', role: 'basic', side: 'agent', support: LINUX_WINDOWS, beyond: true, params: [OUTPUT],
    summary: 'Lists TCP/UDP sockets with their owning processes', syntax: 'connections', examples: ['connections', 'connections json'],
    fields: ['protocol', 'localAddress', 'localPort', 'remoteAddress', 'remotePort', 'state', 'pid', 'processName', 'inode', 'uid'], tableFields: ['protocol', 'localAddress', 'localPort', 'remoteAddress', 'remotePort', 'state', 'pid', 'processName'],
  }),
  spec({
    name: 'fileinfo', role: 'basic', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { summary: 'Shows size, attributes, times and hashes of a file, and for a PE its machine, subsystem, version resource and whether it carries an Authenticode signature', examples: ['fileinfo C:\\Windows\\System32\\notepad.exe'] } },
    params: [{ name: 'path', position: 0, type: 'string', required: true, complete: 'remotePath', help: 'file' }, OUTPUT],
    summary: 'Shows size, type, mode, owner, times and hashes of a file', syntax: 'fileinfo <path>', examples: ['fileinfo /usr/bin/ls'],
    fields: ['path', 'size', 'type', 'mode', 'owner', 'group', 'mtime', 'atime', 'ctime', 'birthtime', 'md5', 'sha1', 'sha256', 'architecture', 'peMachine', 'peFormat', 'peKind', 'peSubsystem', 'peTimestamp', 'authenticode', 'companyName', 'fileDescription', 'fileVersion', 'productName', 'productVersion', 'originalFilename', 'internalName'], tableFields: ['type', 'size', 'mode', 'owner', 'mtime', 'sha256', 'path'], singleRecord: true,
  }),
  spec({
    name: 'findfile', role: 'basic', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { summary: 'Finds files by name or glob on every fixed drive (or under -path), streaming matches as found', examples: ['findfile "*.ps1"', 'findfile dropper.exe -path C:\\Users'] } }, timeLimitMinutes: THIRTY,
    params: [{ name: 'name', position: 0, type: 'string', required: true, help: 'file name or glob (* ?)' }, { name: 'path', type: 'string', complete: 'remotePath', help: 'root of the walk (default /)' }, OUTPUT],
    summary: 'Finds files by name or glob, streaming matches as found', syntax: 'findfile <name-or-glob> [-path root]', examples: ['findfile authorized_keys', 'findfile "*.so" -path /tmp'],
    fields: ['path', 'type', 'size', 'mtime'], tableFields: ['size', 'mtime', 'path'],
  }),
  spec({
    name: 'getfile', role: 'basic', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { examples: ['getfile C:\\Windows\\System32\\drivers\\etc\\hosts', 'getfile "C:\\Program Files\\App\\app.log" &'] } }, timeLimitMinutes: THIRTY,
    streamsFile: true,
    params: [
      { name: 'path', position: 0, type: 'string', required: true, complete: 'remotePath', help: 'file to download' },
      { name: 'auto', type: 'flag', help: 'run the prerequisite step automatically' },
      { name: 'offset', type: 'int', help: 'resume a download from this byte (clients set it when they resume)' },
      { name: 'restart', type: 'flag', help: 'discard the partial download kept from an earlier run and start from byte 0 (handled by the workstation; never sent to the device)' },
      OUTPUT,
    ],
    summary: "Downloads a file into the analyst's evidence store", syntax: 'getfile <path> [-auto] [-restart]', examples: ['getfile /var/log/auth.log', 'getfile "/tmp/a b.bin" &'],
    fields: ['type', 'path', 'size', 'mode', 'owner', 'mtime', 'atime', 'ctime', 'offset', 'sha256', 'savedAs'], tableFields: ['type', 'size', 'mtime', 'sha256', 'path', 'savedAs'],
  }),
  spec({
    name: 'services', role: 'basic', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { summary: 'Lists Windows services from the service control manager: state, start type, binary path, account', examples: ['services', 'services -output json'] } }, beyond: true, params: [OUTPUT],
    summary: 'Lists systemd units and SysV init scripts', syntax: 'services', examples: ['services'],
    fields: ['name', 'kind', 'state', 'subState', 'enabled', 'unitPath', 'execStart', 'description', 'account', 'pid', 'serviceDescription'], tableFields: ['name', 'kind', 'state', 'enabled', 'execStart'],
  }),
  spec({
    name: 'drivers', role: 'basic', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { summary: 'Lists kernel drivers with their image paths and whether the image carries a signature', examples: ['drivers'] } }, beyond: true, params: [OUTPUT],
    summary: 'Lists loaded kernel modules', syntax: 'drivers', examples: ['drivers'],
    fields: ['name', 'size', 'refCount', 'usedBy', 'state', 'path', 'signer', 'taint', 'startType', 'serviceType', 'displayName', 'loaded'], tableFields: ['name', 'size', 'refCount', 'state', 'signer', 'taint'],
  }),
  spec({
    name: 'scheduledtasks', role: 'basic', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { summary: 'Lists the scheduled tasks of the task store (System32\\Tasks): triggers, actions, principal, author', examples: ['scheduledtasks'] } }, beyond: true, params: [OUTPUT],
    summary: 'Lists cron entries, systemd timers and at jobs', syntax: 'scheduledtasks', examples: ['scheduledtasks'],
    fields: ['kind', 'source', 'user', 'schedule', 'command', 'line', 'name', 'enabled', 'author', 'error'], tableFields: ['kind', 'name', 'user', 'enabled', 'schedule', 'command', 'source'],
  }),
  spec({
    name: 'startupfolders', role: 'basic', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { summary: 'Lists the items of the all-users and every user\'s Startup folder, with the targets of .lnk files', examples: ['startupfolders'] } }, beyond: true, params: [OUTPUT],
    summary: 'Lists XDG autostart entries, rc.local and /etc/profile.d items', syntax: 'startupfolders', examples: ['startupfolders'],
    fields: ['kind', 'path', 'name', 'exec', 'owner', 'mtime', 'error'], tableFields: ['kind', 'owner', 'name', 'exec', 'path'],
  }),
  spec({
    name: 'persistence', role: 'basic', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { summary: 'Lists Run/RunOnce keys (every user, both views), Winlogon, IFEO debuggers, AppInit_DLLs, unusual services, scheduled tasks and Startup items, with the launched file\'s SHA-256', examples: ['persistence', 'persistence -output json'] } }, beyond: true, params: [OUTPUT],
    summary: 'Lists known Linux persistence locations with owner, mtime and SHA-256', syntax: 'persistence', examples: ['persistence', 'persistence -output json'],
    fields: ['category', 'path', 'owner', 'mode', 'mtime', 'size', 'sha256', 'detail'], tableFields: ['category', 'owner', 'mtime', 'path', 'detail'],
  }),
  spec({
    name: 'registry', role: 'basic', side: 'agent', support: { linux: 'no', darwin: 'no', win32: 'yes' },
    params: [{ name: 'key', position: 0, type: 'string', required: true, help: 'key[\\\\value]' }, OUTPUT],
    summary: 'Shows a Windows registry key (its subkeys and values with their types) or one value', syntax: 'registry <key>[\\\\value]',
    examples: ['registry HKEY_LOCAL_MACHINE\\SYSTEM', 'registry "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\\\ProductName"', 'registry HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run'],
    fields: ['key', 'kind', 'name', 'type', 'size', 'data', 'value', 'lastWrite'], tableFields: ['kind', 'name', 'type', 'data', 'lastWrite'],
  }),
  // --- advanced commands ---
  spec({
    name: 'library', role: 'advanced', side: 'service',
    params: [{ name: 'action', position: 0, type: 'enum', values: ['delete'], help: 'delete' }, { name: 'name', position: 1, type: 'string', complete: 'library', help: 'library file' }, OUTPUT],
    summary: "Lists the tenant's library, or deletes a file from it", syntax: 'library | library delete <name>', examples: ['library', 'library delete script.sh'],
    fields: ['name', 'description', 'size', 'sha256', 'uploadedBy', 'uploadedAt', 'signature', 'publisher', 'parametersDescription', 'parametersExample'],
    tableFields: ['name', 'size', 'signature', 'uploadedBy', 'uploadedAt', 'description', 'parametersDescription'],
  }),
  spec({
    name: 'putfile', role: 'advanced', side: 'agent', support: LINUX_WINDOWS,
    params: [{ name: 'name', position: 0, type: 'string', required: true, complete: 'library', help: 'library file' }, { name: 'overwrite', type: 'flag', help: 'replace an existing file' }, { name: 'keep', type: 'flag', help: 'keep after reboot (Linux; on Windows the file stays in the session folder)' }, OUTPUT],
    summary: "Copies a library file into the agent's working folder", syntax: 'putfile <library file> [-overwrite] [-keep]', examples: ['putfile tool.sh', 'putfile tool.sh -overwrite -keep'],
    fields: ['name', 'path', 'size', 'sha256', 'keep'],
  }),
  spec({
    name: 'run', role: 'advanced', side: 'agent', support: LINUX_WINDOWS, onOs: { win32: { summary: 'Runs a library script (.ps1 through PowerShell, .bat/.cmd through cmd.exe) or a Windows executable on the device', examples: ['run triage.ps1 -parameters "-Days 3"', 'run collect.bat -parameters "C:\\Temp"', 'run autoruns.exe'] } }, timeLimitMinutes: THIRTY,
    params: [{ name: 'script', position: 0, type: 'string', required: true, complete: 'library', help: 'library script (.sh, .py, .ps1, .bat, .cmd) or executable (ELF on Linux, .exe on Windows)' }, { name: 'parameters', type: 'string', help: 'arguments, split like a command line (quotes group words); never through a shell; ; & | ! $ are refused (for .bat/.cmd also < > ^ % " ( ) and control characters)' }, OUTPUT],
    summary: 'Runs a library script or ELF executable (Linux) on the device', syntax: 'run <script> [-parameters "..."]', examples: ['run collect.sh -parameters "-d /tmp"', 'run triage.py -parameters "\'two words\' -v"', 'run collector -parameters "--fast"'],
    fields: ['script', 'exitCode', 'signal', 'durationMs', 'stdoutBytes', 'stderrBytes'],
  }),
  spec({
    name: 'remediate', role: 'advanced', side: 'agent',
    params: [{ name: 'type', position: 0, type: 'enum', values: ['file', 'process', 'service', 'scheduledtask', 'startupfolder', 'registry', 'list'], required: true, help: 'entity type (registry: Windows only), or list' }, { name: 'target', aliases: ['id'], position: 1, type: 'string', help: 'file path, pid, unit or service name, crontab SOURCE:LINE / timer unit / task path, startup item path or name, registry value KEY\\\\NAME' }, { name: 'auto', type: 'flag', help: 'run the prerequisite step first: file: stop the processes running it (refused without -auto); process: stop its whole tree' }, { name: 'force', type: 'flag', help: 'Linux: take a system-critical target anyway (account databases, the loader, /bin, /usr/lib, /boot, systemd units: docs/response-actions.md); never the agent itself or init' }, { name: 'sha256', type: 'string', help: 'file: act only if the file still has this SHA-256 (the workstation pins the file it showed before asking)' }, OUTPUT],
    summary: 'Quarantines a file, stops a process, disables a service, removes a task or startup item', syntax: 'remediate <type> <target> [-auto] [-force] [-sha256 <hex>] | remediate -type <type> -id <target> [-auto] | remediate list', examples: ['remediate file /tmp/x', 'remediate -type file -id /tmp/x -auto', 'remediate process 4242 -auto', 'remediate service evil.service', 'remediate scheduledtask /etc/crontab:12', 'remediate startupfolder /etc/xdg/autostart/x.desktop', 'remediate list'],
    fields: ['id', 'type', 'target', 'state', 'paths', 'actions', 'createdAt', 'jobId', 'restoredAt', 'restoreNotes'], tableFields: ['id', 'type', 'target', 'state', 'createdAt', 'actions'],
  }),
  spec({
    name: 'undo', role: 'advanced', side: 'agent', beyond: true,
    params: [{ name: 'type', position: 0, type: 'enum', values: ['file', 'process', 'service', 'scheduledtask', 'startupfolder', 'registry'], required: true, help: 'entity type' }, { name: 'target', aliases: ['id'], position: 1, type: 'string', required: true, help: 'the target given to remediate (or the quarantine entry id)' }, OUTPUT],
    summary: 'Restores a remediated entity', syntax: 'undo <type> <target> | undo -type <type> -id <target>', examples: ['undo file /tmp/x', 'undo -type file -id /tmp/x', 'undo scheduledtask /etc/crontab:12'],
    fields: ['id', 'type', 'target', 'state', 'paths', 'actions', 'createdAt', 'jobId', 'restoredAt', 'restoreNotes'], tableFields: ['id', 'type', 'target', 'state', 'createdAt', 'actions'],
  }),
  spec({
    name: 'isolate', role: 'advanced', side: 'agent', params: [], summary: 'Cuts the device off the network except the live response service', syntax: 'isolate', examples: ['isolate'],
    fields: ['isolated', 'backend', 'allowed', 'changedAt'],
  }),
  spec({
    name: 'release', role: 'advanced', side: 'agent', params: [], summary: 'Releases the device from isolation', syntax: 'release', examples: ['release'],
    fields: ['isolated', 'backend', 'allowed', 'changedAt', 'wasIsolated'],
  }),
  spec({
    name: 'collect', role: 'advanced', side: 'agent', onOs: { win32: { summary: 'Builds and downloads an investigation package: event logs (.evtx), the task store, Run/services/IFEO registry exports, installed programs, prefetch list, Startup items, processes, connections, hosts' } }, streamsFile: true, params: [OUTPUT], summary: 'Builds and downloads an investigation package', syntax: 'collect', examples: ['collect'],
    fields: ['type', 'path', 'size', 'mode', 'owner', 'mtime', 'atime', 'ctime', 'offset', 'sha256', 'members', 'savedAs'], tableFields: ['type', 'size', 'members', 'sha256', 'path', 'savedAs'],
  }),
  spec({
    name: 'analyze', role: 'advanced', side: 'agent', onOs: { win32: { summary: 'Gives a verdict on a file or process from several engines (tenant indicators; ClamAV where installed; YARA not yet on Windows)', examples: ['analyze file C:\\Users\\Public\\dropper.exe', 'analyze process 4242'] } },
    params: [{ name: 'type', position: 0, type: 'enum', values: ['file', 'process'], required: true, help: 'file or process' }, { name: 'target', aliases: ['id'], position: 1, type: 'string', required: true, help: 'path or pid' }, OUTPUT],
    summary: 'Gives a verdict on a file or process from several engines', syntax: 'analyze <file|process> <target> | analyze -type <file|process> -id <target>', examples: ['analyze file /tmp/x', 'analyze process 4242'],
    fields: ['engine', 'ran', 'verdict', 'detail', 'path', 'sha256'], tableFields: ['engine', 'ran', 'verdict', 'detail'],
  }),
  spec({
    name: 'scan', role: 'advanced', side: 'agent', onOs: { win32: { summary: 'Runs Microsoft Defender\'s command-line scanner (MpCmdRun, never remediating); refused where it is not present', examples: ['scan quick', 'scan -path C:\\Users\\Public'] } },
    params: [{ name: 'mode', position: 0, type: 'enum', values: ['quick', 'full'], help: 'quick or full' }, { name: 'path', type: 'string', complete: 'remotePath', help: 'path to scan' }, OUTPUT],
    summary: 'Runs an antivirus scan with the installed engine', syntax: 'scan [quick|full] [-path p]', examples: ['scan quick', 'scan full', 'scan -path /srv/upload'],
    fields: ['type', 'path', 'signature', 'detail', 'engine'], tableFields: ['type', 'signature', 'path', 'detail'],
  }),
];

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

export function findCommand(name: string): CommandSpec | undefined {
  return BY_NAME.get(canonicalName(name));
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
