/**
 * What `lr-agent install` sets up on Linux, as pure data: where things go, the systemd unit's text (the
 * .deb ships the same text, checked by a unit test), its ExecStart quoted the way systemd splits it back,
 * the status file the running agent keeps in its data folder, and `lr-agent status` as lines.
 * No file or process is touched here.
 */
import { posix } from 'node:path';
import { z } from 'zod';

export const UNIT_NAME = 'lr-agent.service';
/** Where `lr-agent install` (and the .deb) puts the single-file agent. */
export const INSTALL_DIR = '/usr/lib/lr-agent';
export const INSTALLED_BINARY = `${INSTALL_DIR}/lr-agent`;
export const DEFAULT_DATA_DIR = '/var/lib/lr-agent';
/** The unit `lr-agent install` writes; it overrides the .deb's one of the same name. */
export const ETC_UNIT = `/etc/systemd/system/${UNIT_NAME}`;
/** The unit the .deb ships (dpkg owns it). */
export const PACKAGE_UNIT = `/lib/systemd/system/${UNIT_NAME}`;

const PLAIN_ARG = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One ExecStart word as systemd splits it back: plain when it is only safe characters, else in double
 * quotes with `\` and `"` escaped. `%` (a specifier) is written `%%` and `$` (a variable) `$$` either way.
 * Control characters cannot be carried: refused.
 */
export function systemdQuote(arg: string): string {
  if (arg === '' || /[\0-\x1f\x7f]/.test(arg))
    throw new Error(`an ExecStart argument cannot be empty or hold a control character: ${JSON.stringify(arg)}`);
  const escaped = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (PLAIN_ARG.test(arg)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The ExecStart value for `argv` (argv[0] absolute, as systemd requires). */
export function execStartLine(argv: readonly string[]): string {
  if (!argv.length || !posix.isAbsolute(argv[0]!))
    throw new Error(`the program a unit runs must be an absolute path: ${argv[0] ?? '(none)'}`);
  return argv.map(systemdQuote).join(' ');
}

/**
 * The words of a unit's first ExecStart= line, undoing what systemdQuote does (double and single quotes,
 * `\\` `\"` `\'` escapes, `%%`, `$$`). Prefixes (`-`, `@`, `+`, `!`) are refused: we never write them.
 */
export function parseExecStart(unitText: string): string[] {
  const line = /^ExecStart=(.*)$/m.exec(unitText)?.[1];
  if (line === undefined) throw new Error('the unit has no ExecStart= line');
  if (/^[-@+!:]/.test(line)) throw new Error(`ExecStart= with a prefix is not one lr-agent writes: ${line}`);
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (i >= line.length) break;
    let word = '';
    const quote = line[i] === '"' || line[i] === "'" ? line[i++] : null;
    for (; i < line.length; i++) {
      const c = line[i]!;
      if (quote ? c === quote : c === ' ' || c === '\t') break;
      if (c === '\\' && i + 1 < line.length) word += line[++i];
      else if ((c === '%' || c === '$') && line[i + 1] === c) word += line[i++];
      else word += c;
    }
    if (quote) {
      if (line[i] !== quote) throw new Error(`unterminated quote in ExecStart=${line}`);
      i++;
    }
    words.push(word);
  }
  return words;
}

/** The agent's command line under systemd: `<program…> service --data DIR`. */
export function serviceArgv(program: readonly string[], dataDir: string): string[] {
  if (!posix.isAbsolute(dataDir)) throw new Error(`the data folder must be an absolute path: ${dataDir}`);
  return [...program, 'service', '--data', dataDir];
}

/**
 * The unit. Every hardening option systemd offers was weighed against what the agent is for: it reads
 * every process's /proc, every file and device, lists sockets over netlink, runs nft to isolate the device,
 * and its response commands write where the threat is (remediate removes a file, cron line or enablement
 * link anywhere and undo puts it back, byte, mode and owner exact; run executes a responder's script as
 * root). An option that would blind it or break one of those is left out, with the reason next to it.
 */
export function agentUnitText(argv: readonly string[]): string {
  return `# The live response agent as a system service (lr-agent install writes it; the .deb ships the same).
[Unit]
Description=Live response agent (lr-agent)
# The agent connects out to the service: start once the network is up (it reconnects forever anyway).
Wants=network-online.target
After=network-online.target
# Never give up restarting: a responder needs the agent back, however often it fell.
StartLimitIntervalSec=0

[Service]
Type=simple
ExecStart=${execStartLine(argv)}
# Root: reading every process and file, isolating the network and the response commands need it.
User=root
Restart=always
RestartSec=2
# Stopping the agent also stops the scripts it started (the unit's whole control group).
KillMode=control-group
TimeoutStopSec=15
# Files the agent makes (device key, quarantine, collections) are private to root.
UMask=0077

# --- hardening that takes nothing the agent needs ---
# Nothing it runs needs to gain privileges through a set-uid or file-capability program: it already is
# root (sudo and su still work from root, they need no set-uid bit then); a child that dropped its
# privileges cannot get them back this way.
NoNewPrivileges=yes
# It reads the control groups (services, processes) and never changes them.
ProtectControlGroups=yes
# No real-time scheduling, no change of execution domain (personality), no shared kernel keyring.
RestrictRealtime=yes
LockPersonality=yes
KeyringMode=private

# --- left out on purpose ---
# ProtectSystem= / ReadWritePaths=: remediate and undo remove and restore files, cron lines and unit links
#   in /etc, /usr, /opt, /home...; a read-only system would make every response action fail (EROFS).
# ProtectHome=: home folders are where user-level persistence lives (autostart, crontabs, ssh keys):
#   read-only breaks remediate there, inaccessible blinds the agent.
# PrivateTmp=: /tmp and /var/tmp are where droppers put payloads; a private /tmp would hide them from
#   every command (and scripts run by the agent must see the real one).
# PrivateDevices=, DevicePolicy=, ProtectClock= (it implies a device list): collections read raw devices.
# ProtectKernelModules=: makes /usr/lib/modules unreadable, which the drivers command checks, and forbids
#   unloading a malicious module from a response script.
# ProtectKernelTunables=, ProtectKernelLogs=: response scripts may turn a sysctl off or read the kernel log.
# ProtectProc=, ProcSubset=: would hide other users' processes, the first thing the agent lists.
# ProtectHostname=: a private UTS namespace would freeze the host name the agent reports at its start.
# PrivateNetwork=, RestrictAddressFamilies=, IPAddressDeny=: the agent talks to the service, reads sockets
#   over netlink and isolates the host with nft; scripts may need any socket family.
# RestrictNamespaces=: inspecting a container from a script (nsenter) needs setns.
# RestrictSUIDSGID=: undo must be able to restore a quarantined file with its set-uid bit.
# CapabilityBoundingSet=, SystemCallFilter=, SystemCallArchitectures=, MemoryDenyWriteExecute=: a response
#   script may need any capability, system call or a 32-bit tool; Node's JIT needs writable code pages.

[Install]
WantedBy=multi-user.target
`;
}

/** `status.json` in the data folder: what the running agent last knew of its link (written on each change). */
export const AGENT_STATUS_FILE = 'status.json';
export const agentStatusSchema = z.object({
  pid: z.number().int().positive(),
  startedAt: z.string(),
  /** Whether the link to the service is up now (as of updatedAt). */
  connected: z.boolean(),
  /** The service node it is (or was last) connected to. */
  url: z.string().nullable(),
  /** Connected: when the link came up; not connected: when it was last up (null: never since this start). */
  lastConnectedAt: z.string().nullable(),
  updatedAt: z.string(),
  /** Set when the agent stopped cleanly. */
  stoppedAt: z.string().optional(),
});
export type AgentRunStatus = z.infer<typeof agentStatusSchema>;

export interface LinuxAgentStatus {
  /** The unit file systemd would use (ours in /etc or the .deb's), null when there is none. */
  unitPath: string | null;
  execStart: string[] | null;
  /** `systemctl is-enabled` / `is-active` words; null when systemd cannot tell (is-active without systemd). */
  enabled: string | null;
  active: string | null;
  systemdRunning: boolean;
  dataDir: string;
  /** null: not enrolled (no agent.json); a string: why it could not be read. */
  enrollment: { deviceId: string; name: string; url: string } | string | null;
  /** The data folder's mode and owner (absent: no folder). */
  folder?: { mode: number; uid: number; isDirectory: boolean };
  /** The status file and whether its pid still runs the agent; null: none (never started here). */
  run: { status: AgentRunStatus; alive: boolean } | null;
}

/** `lr-agent status` on Linux as readable lines. */
export function linuxStatusLines(s: LinuxAgentStatus, now: Date = new Date()): string[] {
  const lines: string[] = [];
  if (!s.unitPath) lines.push(`service: not installed (no ${UNIT_NAME} in /etc/systemd/system or /lib/systemd/system)`);
  else {
    lines.push(
      `service: installed (${s.unitPath}), ${s.enabled ?? 'enablement unknown'}, ${s.active ?? (s.systemdRunning ? 'state unknown' : 'state unknown: systemd is not running')}`,
    );
    if (s.execStart) lines.push(`  runs: ${s.execStart.join(' ')}`);
  }
  if (s.enrollment === null) lines.push(`enrolled: no (no agent.json in ${s.dataDir})`);
  else if (typeof s.enrollment === 'string') lines.push(`enrolled: unknown (${s.enrollment})`);
  else
    lines.push(
      `enrolled: yes, as ${s.enrollment.name} (device id ${s.enrollment.deviceId}) with ${new URL(s.enrollment.url).host}`,
    );
  lines.push(`data folder: ${s.dataDir}`);
  if (!s.folder) lines.push('  (the folder does not exist)');
  else if (!s.folder.isDirectory) lines.push('  WRONG: not a folder');
  else {
    const mode = (s.folder.mode & 0o7777).toString(8).padStart(4, '0');
    const ok = s.folder.uid === 0 && (s.folder.mode & 0o077) === 0;
    lines.push(
      `  mode ${mode}, owner uid ${s.folder.uid}${ok ? ' (root only)' : ' (WRONG: must be 0700 and owned by root)'}`,
    );
  }
  lines.push(`agent: ${agentRunLine(s.run, now)}`);
  return lines;
}

function ago(iso: string, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  return `${iso} (${s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`} ago)`;
}

function agentRunLine(run: LinuxAgentStatus['run'], now: Date): string {
  if (!run) return 'never started with this data folder';
  const { status: st, alive } = run;
  const last = st.lastConnectedAt
    ? `last connected ${ago(st.lastConnectedAt, now)}`
    : 'never connected since its start';
  if (!alive)
    return `not running (${st.stoppedAt ? `stopped ${ago(st.stoppedAt, now)}` : `pid ${st.pid} is gone`}), ${last}`;
  if (st.connected)
    return `running (pid ${st.pid}), connected to ${st.url ? new URL(st.url).host : '?'} since ${ago(st.lastConnectedAt ?? st.updatedAt, now)}`;
  return `running (pid ${st.pid}), NOT connected, ${last}`;
}
