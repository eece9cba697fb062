/**
 * Commands the service answers itself, without the agent: help, jobs, fg, status, trace.
 * Their output goes through the same job machinery (logged, hashed, sent to the console).
 */
import { CATALOG, describedOn, findCommand, roleAllows, type Platform } from '../shared/commands/catalog.js';
import { helpRecord, helpText } from '../shared/commands/command-help.js';
import type { BoundParams, ParsedLine } from '../shared/commands/grammar-types.js';
import type { JobStatus } from '../shared/wire/protocol.js';
import type { AgentHub } from './agent-hub.js';
import type { Store } from './store.js';
import type { ConsolePeer, Job, Session, SessionManager } from './sessions.js';
import type { Pipeline } from './pipeline.js';
import { formatDuration } from '../shared/commands/format.js';
import { formatInstant } from '../shared/time-format.js';
import { libraryCommand } from './library-console.js';

export interface ServiceCommandContext {
  store: Store;
  hub: AgentHub;
  sessions: SessionManager;
  pipeline: Pipeline;
  peer: ConsolePeer;
  session: Session;
  job: Job;
  params: BoundParams;
  parsed: ParsedLine;
}

export interface ServiceCommandResult {
  status: JobStatus;
  error?: string;
}

function text(ctx: ServiceCommandContext, s: string): void {
  ctx.job.output.append(s);
  ctx.job.attached?.send({ t: 'command.text', commandId: ctx.job.id, text: s });
}

function records(ctx: ServiceCommandContext, rs: Record<string, unknown>[]): void {
  ctx.job.output.appendRecords(rs);
  ctx.job.attached?.send({ t: 'command.records', commandId: ctx.job.id, records: rs });
}

async function help(ctx: ServiceCommandContext): Promise<ServiceCommandResult> {
  const name = ctx.params.command as string | undefined;
  const platform = ctx.session.device.platform;
  const asRecords = ctx.parsed.output !== undefined;
  if (name) {
    const spec = findCommand(name.toLowerCase());
    if (!spec) return { status: 'refused', error: `help: there is no command ${name} (help lists the commands)` };
    if (asRecords) records(ctx, [helpRecord(spec, ctx.pipeline.timeLimitMs(spec), platform)]);
    else text(ctx, helpText(spec, ctx.pipeline.timeLimitMs(spec), platform));
    return { status: 'completed' };
  }
  const available = ctx.pipeline.availableCommands(ctx.session);
  if (asRecords) {
    records(
      ctx,
      available.map((c) => helpRecord(c, ctx.pipeline.timeLimitMs(c), platform)),
    );
    return { status: 'completed' };
  }
  const width = Math.max(...available.map((c) => c.name.length)) + 2;
  const out = [
    `Commands available to ${ctx.peer.user.name} (${ctx.peer.user.role}) on ${ctx.session.device.name} (${ctx.session.device.platform}):`,
  ];
  for (const c of available) out.push(`  ${c.name.padEnd(width)}${describedOn(c, platform).summary}`);
  const later = CATALOG.filter(
    (c) => roleAllows(ctx.peer.user.role, c.role) && c.support[platform as Platform] === 'not yet',
  ).map((c) => c.name);
  if (later.length) out.push('', `Not available on ${platform} yet: ${later.join(', ')}.`);
  out.push(
    '',
    'help <command> shows syntax, parameters, examples, role and time limit.',
    'Append & to run in the background; -output json for every field; > name.txt saves the output to the case (workstation) or to a local file (lr exec, lr shell).',
  );
  text(ctx, out.join('\n') + '\n');
  return { status: 'completed' };
}

/**
 * `jobs`: what still runs in this session (foreground elsewhere or in the background); `-all` every command
 * of the session. The console's own probes (path completion) are in the log, flagged, never here.
 */
async function jobs(ctx: ServiceCommandContext): Promise<ServiceCommandResult> {
  const all = ctx.params.all === true;
  const rows = ctx.store
    .listCommands({ sessionId: ctx.session.id })
    .filter((c) => c.id !== ctx.job.id && !c.internal)
    .map((c) => {
      const live = ctx.session.jobs.get(c.id);
      const durationMs = live && live.status === 'running' ? Date.now() - live.startedAt : c.durationMs;
      return {
        id: c.id,
        commandLine: c.commandLine,
        state: live?.status ?? c.status,
        startedAt: c.startedAt,
        duration: durationMs == null ? '' : formatDuration(durationMs),
        durationMs,
        background: live?.background ?? c.background,
      };
    })
    .filter((r) => all || r.state === 'running' || r.state === 'pending');
  if (rows.length === 0 && ctx.parsed.output === undefined) {
    text(
      ctx,
      all
        ? 'no commands in this session yet\n'
        : 'no running or background commands in this session (jobs -all lists every command)\n',
    );
    return { status: 'completed' };
  }
  records(ctx, rows);
  return { status: 'completed' };
}

/**
 * `status ID`: any command of this device in the log (the log is every analyst's to read), not only this
 * session's; a job still running anywhere on this service shows its live state. With `-output json` one
 * record with every field; otherwise the fields as lines and the output as it was printed (real line breaks).
 */
async function status(ctx: ServiceCommandContext): Promise<ServiceCommandResult> {
  const id = String(ctx.params.id);
  const c = ctx.store.getCommand(id);
  if (!c || c.deviceId !== ctx.session.device.id)
    return { status: 'failed', error: `status: no command ${id} on ${ctx.session.device.name}` };
  const live =
    ctx.session.jobs.get(id) ??
    ctx.sessions
      .all()
      .find((s) => s.jobs.has(id))
      ?.jobs.get(id);
  const record = {
    id: c.id,
    commandLine: c.commandLine,
    user: c.user,
    sessionId: c.sessionId,
    state: live?.status ?? c.status,
    startedAt: c.startedAt,
    durationMs: live && live.status === 'running' ? Date.now() - live.startedAt : c.durationMs,
    error: c.error,
    outputSize: live ? live.output.size : c.outputSize,
    output: live ? live.output.text() : c.output,
  };
  if (ctx.parsed.output === 'json') {
    records(ctx, [record]);
    return { status: 'completed' };
  }
  const head = [
    `${record.id}  ${record.commandLine}`,
    `state: ${record.state}   by ${record.user}${record.sessionId === ctx.session.id ? ' (this session)' : ` (session ${record.sessionId ?? '-'})`}   started ${formatInstant(record.startedAt, 'UTC')}${record.durationMs != null ? `   ${formatDuration(record.durationMs)}` : ''}`,
    ...(record.error ? [`error: ${record.error}`] : []),
    `output (${record.outputSize} bytes)${record.output ? ':' : ''}`,
  ];
  text(
    ctx,
    head.join('\n') +
      '\n' +
      (record.output ? (record.output.endsWith('\n') ? record.output : record.output + '\n') : ''),
  );
  return { status: 'completed' };
}

async function fg(ctx: ServiceCommandContext): Promise<ServiceCommandResult> {
  const id = String(ctx.params.id);
  const target = ctx.session.jobs.get(id);
  if (!target) return { status: 'failed', error: `fg: no command ${id} in this session` };
  if (target.status !== 'running')
    return { status: 'failed', error: `fg: command ${id} is not running (${target.status}); use status ${id}` };
  if (target.attached) return { status: 'failed', error: `fg: command ${id} is already in the foreground` };
  if (ctx.parsed.output !== undefined) records(ctx, [{ id, commandLine: target.commandLine }]);
  else text(ctx, `bringing ${id} (${target.commandLine}) to the foreground\n`);
  // The fg command itself completes first; then the console follows the job.
  setImmediate(() => ctx.pipeline.attach(ctx.peer, target));
  return { status: 'completed' };
}

async function trace(ctx: ServiceCommandContext): Promise<ServiceCommandResult> {
  const level = (ctx.params.level as string | undefined) ?? 'info';
  ctx.session.traceLevel = level;
  ctx.hub.sendTo(ctx.session.device.id, { t: 'trace.level', sessionId: ctx.session.id, level: level as 'info' });
  if (ctx.parsed.output !== undefined) records(ctx, [{ level }]);
  else
    text(
      ctx,
      level === 'off' ? 'trace off\n' : `trace ${level}: agent log lines for this session are shown in the console\n`,
    );
  return { status: 'completed' };
}

const HANDLERS: Record<string, (ctx: ServiceCommandContext) => Promise<ServiceCommandResult>> = {
  help,
  jobs,
  status,
  fg,
  trace,
  library: libraryCommand,
};

export async function runServiceCommand(name: string, ctx: ServiceCommandContext): Promise<ServiceCommandResult> {
  const h = HANDLERS[name];
  if (!h) return { status: 'failed', error: `${name}: not available in this version of the service` };
  return h(ctx);
}
