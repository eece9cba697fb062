/**
 * What `lr-agent install` registers on Windows, as pure data: the service's name, its command line (quoted
 * the way Windows splits it), its recovery actions, the data folder's default place and its access list.
 * No Win32 call here: the unit tests check it under Linux.
 */
import { win32 as winPath } from 'node:path';

export const SERVICE_NAME = 'lr-agent';
export const SERVICE_DISPLAY_NAME = 'Live response agent';
export const SERVICE_DESCRIPTION = 'Connects out to the live response service and answers its signed commands.';

/**
 * The data folder's access list: SYSTEM and Administrators full control, inherited by everything below
 * (OICI), nobody else, and `P` (protected): no entry inherited from %ProgramData%, whose default list lets
 * every user read and create files.
 */
export const DATA_DIR_SDDL = 'D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)';
/**
 * The folder's owner and list as set: owned by Administrators. An owner may always rewrite the list, and
 * anyone may create a folder in %ProgramData%: a user who made `lr-agent` there before the install would
 * otherwise keep that power over the device key.
 */
export const DATA_DIR_SECURITY = `O:BA${DATA_DIR_SDDL}`;

/** The default data folder: `%ProgramData%\lr-agent`. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const programData = env.ProgramData ?? env.PROGRAMDATA ?? env.ALLUSERSPROFILE;
  if (!programData) throw new Error('%ProgramData% is not set: give the data folder with --data');
  return winPath.join(programData, SERVICE_NAME);
}

/**
 * One argument, always in double quotes, as the C runtime / CommandLineToArgvW split it back: a run of
 * backslashes doubled when a quote follows it (inside, or the closing one), a quote escaped as \".
 */
export function quoteWindowsArg(arg: string): string {
  let out = '"';
  let slashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      slashes++;
      continue;
    }
    if (ch === '"') out += '\\'.repeat(slashes * 2 + 1) + '"';
    else out += '\\'.repeat(slashes) + ch;
    slashes = 0;
  }
  return out + '\\'.repeat(slashes * 2) + '"';
}

/**
 * The service's command line (its "binPath"). The program is always quoted: an unquoted path with a space
 * (`C:\Program Files\...`) lets Windows try `C:\Program.exe` first, a classic way to run code as SYSTEM.
 * The program part is not unescaped by Windows (it ends at the next quote), so a quote in it is refused.
 * `script` null: the program is the agent's single executable (lr-agent-win-x64.exe), which runs alone.
 */
export function serviceCommandLine(program: string, script: string | null, dataDir: string): string {
  const paths: [string, string][] = [
    [script === null ? 'lr-agent executable' : 'node.exe', program],
    ...(script === null ? [] : ([['lr-agent script', script]] as [string, string][])),
    ['data folder', dataDir],
  ];
  for (const [what, p] of paths) {
    if (!winPath.isAbsolute(p) || /^[\\/]{2}/.test(p))
      throw new Error(`the ${what} path must be an absolute local path: ${p}`);
    if (/["\0\r\n]/.test(p))
      throw new Error(`the ${what} path contains a character a service command line cannot carry: ${p}`);
  }
  return [
    `"${program}"`,
    ...(script === null ? [] : [quoteWindowsArg(script)]),
    'service',
    '--data',
    quoteWindowsArg(dataDir),
  ].join(' ');
}

/** SC_ACTION_RESTART after each delay (ms): the SCM restarts the agent after a crash or a failed exit. */
export const RESTART_DELAYS_MS = [5_000, 15_000, 60_000] as const;
/** The failure count goes back to zero after a day without failure. */
export const FAILURE_RESET_SECONDS = 24 * 3600;

/** The well-known SIDs the data folder's list may name, in SDDL's short form and in words. */
const ALLOWED_TRUSTEES: Readonly<Record<string, string>> = { SY: 'SYSTEM', BA: 'Administrators' };

/**
 * Why a folder's owner and DACL (as SDDL, `O:` part optional, `D:` part) are not the data folder's, or null.
 * Only an owner among SYSTEM and Administrators and the exact list pass: protected, allow entries for SYSTEM
 * and Administrators only; anything else (another trustee, a missing `P`, a deny entry one did not put
 * there) is reported.
 */
export function dataDirAclProblem(sddl: string): string | null {
  const owner = /O:([A-Z]{2}|S-[\d-]+)/.exec(sddl)?.[1];
  if (owner && !(owner in ALLOWED_TRUSTEES)) return `it is owned by ${owner}, who can change its access list`;
  const dacl = /D:([^()]*)((?:\([^)]*\))*)/.exec(sddl);
  if (!dacl || dacl[1]!.includes('NO_ACCESS_CONTROL')) return 'it has no access list (everyone has full access)';
  const flags = dacl[1]!;
  const aces = [...dacl[2]!.matchAll(/\(([^)]*)\)/g)].map((m) => m[1]!.split(';'));
  const others = aces
    .filter((a) => a[0] !== 'A' || !(a[5]! in ALLOWED_TRUSTEES))
    .map((a) => `${a[0] === 'D' ? 'deny' : 'allow'} ${a[5]}`);
  if (others.length) return `it has entries for others than SYSTEM and Administrators: ${others.join(', ')}`;
  if (!flags.includes('P')) return 'it inherits entries from its parent folder';
  for (const [sid, who] of Object.entries(ALLOWED_TRUSTEES)) {
    if (!aces.some((a) => a[5] === sid && a[2] === 'FA' && a[1]!.includes('OI') && a[1]!.includes('CI')))
      return `${who} lacks inherited full control`;
  }
  return null;
}

/** Trustees that may change what a LocalSystem service runs: SYSTEM, Administrators, TrustedInstaller. */
const TRUSTED_WRITERS = new Set(['SY', 'BA', 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464']);

/** SDDL access-right tokens (file meaning) as mask bits. */
const RIGHT_BITS: Readonly<Record<string, number>> = {
  GA: 0x10000000,
  GR: 0x80000000,
  GW: 0x40000000,
  GX: 0x20000000,
  FA: 0x1f01ff,
  FR: 0x120089,
  FW: 0x120116,
  FX: 0x1200a0,
  RC: 0x20000,
  SD: 0x10000,
  WD: 0x40000,
  WO: 0x80000,
  CC: 0x1,
  DC: 0x2,
  LC: 0x4,
  SW: 0x8,
  RP: 0x10,
  WP: 0x20,
  DT: 0x40,
  LO: 0x80,
  CR: 0x100,
};

function rightsMask(rights: string): number {
  if (/^0x[0-9a-f]+$/i.test(rights)) return Number.parseInt(rights, 16);
  let mask = 0;
  // unknown: assume the worst
  for (let i = 0; i < rights.length; i += 2) mask |= RIGHT_BITS[rights.slice(i, i + 2)] ?? 0xffffffff;
  return mask >>> 0;
}

/**
 * Rights that let a trustee change what runs: on node.exe, the script and the folders holding them, write,
 * append, add a file (a DLL next to node.exe), delete, delete a child, change the list or the owner; on the
 * folders above them, what lets one rename or replace a child (delete child, delete, list, owner).
 */
const WRITE_RIGHTS = {
  item: 0x2 | 0x4 | 0x40 | 0x10000 | 0x40000 | 0x80000 | 0x10000000 | 0x40000000,
  ancestor: 0x40 | 0x10000 | 0x40000 | 0x80000 | 0x10000000,
};

/**
 * Who other than SYSTEM, Administrators and TrustedInstaller may change `sddl`'s object (owner included: an
 * owner may always rewrite the list), as SDDL trustees; empty when nobody.
 */
export function untrustedWriters(sddl: string, kind: 'item' | 'ancestor'): string[] {
  const found = new Set<string>();
  const owner = /O:([A-Z]{2}|S-[\d-]+)/.exec(sddl)?.[1];
  if (owner && !TRUSTED_WRITERS.has(owner)) found.add(`${owner} (owner)`);
  const dacl = /D:([^()]*)((?:\([^)]*\))*)/.exec(sddl);
  if (!dacl || dacl[1]!.includes('NO_ACCESS_CONTROL')) return [...found, 'everyone (no access list)'];
  for (const [, ace] of dacl[2]!.matchAll(/\(([^)]*)\)/g)) {
    const [type, flags, rights, , , trustee] = ace!.split(';');
    if (type !== 'A' || flags!.includes('IO') || TRUSTED_WRITERS.has(trustee!)) continue; // IO: for children only
    if (rightsMask(rights!) & WRITE_RIGHTS[kind]) found.add(trustee!);
  }
  return [...found];
}

/** The service's state as the SCM reports it (dwCurrentState), in words. */
export const SERVICE_STATES: Readonly<Record<number, string>> = {
  1: 'stopped',
  2: 'starting',
  3: 'stopping',
  4: 'running',
  5: 'continuing',
  6: 'pausing',
  7: 'paused',
};

export interface AgentInstallStatus {
  /** null: no service of that name. */
  service: {
    state: number;
    pid: number;
    commandLine: string | null;
    startType: string | null;
    account: string | null;
  } | null;
  dataDir: string;
  /** null: not enrolled (no agent.json); a string: why it could not be read. */
  enrollment: { deviceId: string; name: string; url: string } | string | null;
  /** The data folder's access list (SDDL) and what is wrong with it (null: right); absent when there is no folder. */
  acl?: { sddl: string; problem: string | null; unverifiable?: string };
}

/** `lr-agent status` as readable lines. */
export function statusLines(s: AgentInstallStatus): string[] {
  const lines: string[] = [];
  if (!s.service) lines.push(`service: not installed (no service named ${SERVICE_NAME})`);
  else {
    const state = SERVICE_STATES[s.service.state] ?? `state ${s.service.state}`;
    lines.push(
      `service: installed, ${state}${s.service.state === 4 && s.service.pid ? ` (pid ${s.service.pid})` : ''}`,
    );
    if (s.service.startType || s.service.account)
      lines.push(`  start: ${s.service.startType ?? '?'}, account: ${s.service.account ?? '?'}`);
    if (s.service.commandLine) lines.push(`  command line: ${s.service.commandLine}`);
  }
  if (s.enrollment === null) lines.push(`enrolled: no (no agent.json in ${s.dataDir})`);
  else if (typeof s.enrollment === 'string') lines.push(`enrolled: unknown (${s.enrollment})`);
  else
    lines.push(
      `enrolled: yes, as ${s.enrollment.name} (device id ${s.enrollment.deviceId}) with ${new URL(s.enrollment.url).host}`,
    );
  lines.push(`data folder: ${s.dataDir}`);
  if (!s.acl) lines.push('  (the folder does not exist)');
  else if (s.acl.problem === null && !s.acl.unverifiable)
    lines.push(`  access: ${s.acl.sddl} (SYSTEM and Administrators only)`);
  else if (s.acl.unverifiable) lines.push(`  access: ${s.acl.sddl || '?'} (not checkable: ${s.acl.unverifiable})`);
  else lines.push(`  access: ${s.acl.sddl} (WRONG: ${s.acl.problem})`);
  return lines;
}
