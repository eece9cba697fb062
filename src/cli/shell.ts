/**
 * `lr shell DEVICE`: an interactive console in the terminal with the console grammar, line editing,
 * per-device persistent history, Tab completion of commands and flags, Ctrl+C (cancel on the agent),
 * Ctrl+Z (send a running command to the background), and trace lines. `> file` saves a command's output
 * in the local folder; `fg ID` brings a background download back with its progress. Piped input (`lr shell
 * DEV < commands.txt`) runs line after line, and the session closes once the last one (and any download
 * it left in the background) has ended.
 */
import { createInterface, type Interface } from 'node:readline';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CATALOG, findCommand, roleAllows, type Role } from '../shared/commands/catalog.js';
import { complete } from '../shared/commands/completion.js';
import { escapeControlChars, formatDuration, renderProgress } from '../shared/commands/format.js';
import { parseLine, quoteArg } from '../shared/commands/grammar.js';
import type { SessionInfo } from '../shared/wire/protocol.js';
import type { Profile } from '../node/profile.js';
import {
  type CommandOutcome,
  ConsoleClient,
  runGetfile,
  throttle,
  transferTarget,
  type TransferTarget,
} from '../client/index.js';
import { Printer, renderTransfer } from './printer.js';
import { EXIT_OK, EXIT_REFUSED } from './errors.js';
import { RedirectFile, operatorsOf } from './redirect-file.js';
import { describeError } from '../shared/errors.js';

const HISTORY_MAX = 1000;

/** A download running in the background: `fg` shows it again and waits for the verified file. */
interface BackgroundTransfer {
  setForeground(on: boolean): void;
  /** Settles once its end (verified file or failure) has been printed. */
  done: Promise<void>;
}

function historyFile(deviceId: string): string {
  const base = process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state');
  const dir = join(base, 'lr', 'history');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return join(dir, `${deviceId.replace(/[^A-Za-z0-9_-]/g, '_')}.txt`);
}

function loadHistory(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_MAX).reverse();
  } catch {
    return [];
  }
}

export async function runShell(profile: Profile, device: string): Promise<number> {
  let client = await ConsoleClient.connect(profile);
  let session: SessionInfo;
  try {
    session = await client.openSession(device);
  } catch (e) {
    process.stderr.write(`lr: ${describeError(e)}\n`);
    client.close();
    return EXIT_REFUSED;
  }
  const out = (s: string) => process.stdout.write(s);
  out(
    `Connected to ${session.deviceName} (${session.platform}), session ${session.id} opened by ${session.createdBy} at ${session.startedAt}.\nType help for commands, exit to disconnect.\n`,
  );

  const role = client.role as Role;
  const commands = CATALOG.filter(
    (c) => roleAllows(role, c.role) && c.platforms.includes(session.platform as 'linux'),
  ).map((c) => c.name);
  const hfile = historyFile(session.deviceId);
  let cwd = session.cwd;
  /** The foreground command; `abort` ends a transfer for good (never resumed when its device comes back). */
  let running: { commandId?: string; abort?: AbortController } | null = null;
  /** The shell is ending (exit, end of input). */
  let closed = false;
  /** The session is open; after a close (idle, service restart, ended by another analyst) `connect` reopens one. */
  let sessionOpen = true;
  const transfers = new Map<string, BackgroundTransfer>();
  const outDir = process.env.LR_DOWNLOADS ?? process.cwd();
  // Piped input is read ahead: its lines wait here and run one after the other.
  const piped = !process.stdin.isTTY;
  const queue: string[] = [];
  let busy = false;
  let inputEnded = false;

  const rl: Interface = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: process.stdin.isTTY,
    history: loadHistory(hfile),
    historySize: HISTORY_MAX,
    removeHistoryDuplicates: true,
    completer: (line: string): [string[], string] => {
      const c = complete(line, line.length, { commands });
      if (c.kind === 'none' || c.kind === 'path') return [[], line];
      return [c.candidates, line.slice(c.replaceFrom)];
    },
  });
  const prompt = () => {
    if (inputEnded) return;
    rl.setPrompt(`${escapeControlChars(session.deviceName)}:${escapeControlChars(cwd)}> `);
    rl.prompt();
  };

  let resolveExit!: (code: number) => void;
  const finished = new Promise<number>((r) => (resolveExit = r));
  const lost = (what: string) => {
    if (closed || !sessionOpen) return;
    sessionOpen = false;
    out(`\n${what}\nconnect opens a new session on ${escapeControlChars(session.deviceName)}, exit leaves\n`);
    if (!busy) prompt();
  };
  const wire = (c: ConsoleClient) => {
    c.on('trace', (f) => out(`[trace ${f.level}] ${escapeControlChars(f.message)}\n`));
    c.on('backgroundEnd', (f) => {
      out(
        `\n[${f.commandId}] ${f.status}${f.error ? `: ${escapeControlChars(f.error)}` : ''} (${formatDuration(f.durationMs)}); status ${f.commandId} shows its output\n`,
      );
      if (!busy) prompt();
    });
    c.on('deviceState', (_id, online) => out(`\n[${session.deviceName} is ${online ? 'online again' : 'offline'}]\n`));
    c.on('sessionClosed', (id, reason) => {
      if (id === session.id) lost(`session closed: ${escapeControlChars(reason)}`);
    });
    c.on('disconnected', (reason) => {
      if (c === client) lost(`disconnected: ${escapeControlChars(reason)}`);
    });
  };
  wire(client);

  /** `connect` after a close: a new session on the same device, back in the same folder; history stays. */
  const reconnect = async (): Promise<void> => {
    if (sessionOpen) {
      out(`already connected to ${escapeControlChars(session.deviceName)}\n`);
      return;
    }
    let c = client;
    let next: SessionInfo;
    try {
      // The service may have restarted: the old console connection is then gone too.
      if (!c.isOpen()) {
        c = await ConsoleClient.connect(profile);
        wire(c);
      }
      next = await c.openSession(session.deviceId);
    } catch (e) {
      out(`connect failed: ${escapeControlChars(describeError(e))}\n`);
      return;
    }
    if (c !== client) client.removeAllListeners();
    client = c;
    const previousCwd = cwd;
    session = next;
    sessionOpen = true;
    cwd = session.cwd;
    out(`Connected to ${escapeControlChars(session.deviceName)}, session ${session.id}.\n`);
    if (previousCwd !== cwd) {
      const back = await client.run(session.id, `cd ${quoteArg(previousCwd)}`).outcome;
      if (back.cwd) cwd = back.cwd;
      else
        out(
          `could not return to ${escapeControlChars(previousCwd)}: ${escapeControlChars(back.error ?? back.status)}\n`,
        );
    }
  };

  rl.on('close', () => {
    inputEnded = true;
    endIfDone();
  });
  // At the end of piped input, what is queued, running or downloading in the background finishes first
  // (closing the session would cancel it); Ctrl+D or exit at a terminal close at once, as before.
  const endIfDone = (): void => {
    if (closed || !inputEnded || (piped && (busy || queue.length > 0))) return;
    if (piped && sessionOpen && transfers.size > 0) {
      out(
        `waiting for ${transfers.size} background download${transfers.size === 1 ? '' : 's'} to end before closing the session\n`,
      );
      void Promise.all([...transfers.values()].map((t) => t.done)).then(endIfDone);
      return;
    }
    closed = true;
    if (sessionOpen) {
      try {
        client.closeSession(session.id);
      } catch {
        /* the connection is already gone */
      }
    }
    client.close();
    resolveExit(EXIT_OK);
  };

  rl.on('SIGINT', () => {
    if (running?.abort) running.abort.abort();
    if (running?.commandId) {
      client.cancel(running.commandId);
      out('^C (cancelling on the device)\n');
    } else if (running?.abort) {
      out('^C (cancelled: the transfer is not resumed)\n');
    } else {
      out('^C\n');
      rl.write(null, { ctrl: true, name: 'u' });
      prompt();
    }
  });
  rl.on('SIGTSTP', () => {
    if (running?.commandId) client.detach(running.commandId);
    else prompt();
  });

  const runLine = async (line: string): Promise<void> => {
    let name = '';
    try {
      name = parseLine(line).name;
    } catch {
      /* the service refuses it with a one-line error (and logs it) */
    }
    if (name === 'cls') {
      out('\x1b[2J\x1b[H');
      return;
    }
    if (name === 'connect') return reconnect();
    if (!sessionOpen) {
      out(`no session: connect opens a new one on ${escapeControlChars(session.deviceName)}, exit leaves\n`);
      return;
    }
    const transfer = transferTarget(line);
    if (transfer) return runTransfer(line, transfer);
    const operators = operatorsOf(line);
    let redirect: RedirectFile | null = null;
    if (operators.redirect !== undefined) {
      // A background job's output is not sent to the console (status ID shows it), so it cannot be saved here.
      if (operators.background) {
        out(
          `'> file' and '&' together: the output of a background job stays on the device's log (status ID shows it); drop the '&' to save it locally\n`,
        );
        return;
      }
      try {
        redirect = new RedirectFile(operators.redirect, outDir);
      } catch (e) {
        out(`${escapeControlChars(describeError(e))}\n`);
        return;
      }
    }
    const view: { printer?: Printer; transfer?: BackgroundTransfer } = {};
    const handlers = {
      onStarted: (f: { commandId: string; output?: 'json' | 'table'; tableFields?: string[]; background: boolean }) => {
        if (running) running.commandId = f.commandId;
        // fg of a background download: its own runner shows the progress and the verified file.
        view.transfer = name === 'fg' ? transfers.get(f.commandId) : undefined;
        if (view.transfer) view.transfer.setForeground(true);
        else if (redirect) redirect.started(f.output, f.tableFields);
        else
          view.printer = new Printer({
            output: f.output,
            tableFields: f.tableFields,
            streaming: true,
            write: out,
            width: process.stdout.columns,
          });
      },
      onRecords: (r: Record<string, unknown>[]) => (redirect ? redirect.records(r) : view.printer?.add(r)),
      onText: (t: string) => (redirect ? redirect.text(t) : view.printer?.text(t)),
    };
    running = {};
    let outcome: CommandOutcome;
    try {
      outcome =
        name === 'fg'
          ? await client.runFg(session.id, line, handlers, { onText: () => undefined })
          : await client.run(session.id, line, handlers).outcome;
      if (view.transfer && !(outcome.background && outcome.status === 'running')) await view.transfer.done;
    } finally {
      running = null;
    }
    if (view.transfer) {
      if (outcome.background && outcome.status === 'running') {
        view.transfer.setForeground(false);
        out(
          `[${outcome.commandId}] downloading in the background into ${escapeControlChars(outDir)} (fg ${outcome.commandId} shows it)\n`,
        );
      }
      return;
    }
    view.printer?.end();
    if (redirect) {
      if (outcome.background && outcome.status === 'running')
        out(
          `${escapeControlChars(redirect.path)} was not written: the rest of the output goes to the device's log (status ${outcome.commandId})\n`,
        );
      else {
        try {
          out(`output written to ${escapeControlChars(redirect.path)} (${redirect.save()} bytes)\n`);
        } catch (e) {
          out(`${escapeControlChars(describeError(e))}\n`);
        }
      }
    }
    if (outcome.cwd) cwd = outcome.cwd;
    if (outcome.background && outcome.status === 'running')
      out(`[${outcome.commandId}] running in the background (fg ${outcome.commandId} brings it back)\n`);
    else if (outcome.background) out(`[${outcome.commandId}] ${outcome.status}\n`);
    else if (outcome.status !== 'completed') out(`${escapeControlChars(outcome.error ?? outcome.status)}\n`);
  };

  /**
   * getfile / collect: the file is written to the local current folder, verified, and resumed when the
   * device drops. `&` or Ctrl+Z leave it downloading in the background; its end is announced.
   */
  const runTransfer = async (line: string, t: TransferTarget): Promise<void> => {
    const tty = process.stdout.isTTY;
    let foreground = !t.background;
    let release!: () => void;
    const handed = new Promise<void>((r) => (release = r));
    const abort = new AbortController();
    running = { abort };
    const clearLine = () => tty && foreground && out('\r\x1b[K');
    let backgroundId: string | undefined;
    let settled!: () => void;
    const printed = new Promise<void>((r) => (settled = r));
    const done = runGetfile({
      client,
      sessionId: session.id,
      deviceId: session.deviceId,
      path: t.path,
      auto: t.auto,
      restart: t.restart === true,
      signal: abort.signal,
      line: t.line,
      suffix: t.background ? ' &' : '',
      outDir,
      onStarted: (id) => {
        if (running) running.commandId = id;
      },
      onNotice: (m) => {
        clearLine();
        out(`${escapeControlChars(m)}\n`);
      },
      onProgress: throttle((p) => {
        if (foreground && tty) out(`\r${renderProgress(p, Math.min(100, process.stdout.columns ?? 80))}`);
      }, 100),
      onBackground: (id) => {
        clearLine();
        foreground = false;
        out(`[${id}] downloading in the background into ${escapeControlChars(outDir)} (fg ${id} shows it)\n`);
        backgroundId = id;
        transfers.set(id, { setForeground: (on) => (foreground = on), done: printed });
        release();
      },
    });
    void done.then((r) => {
      clearLine();
      const msg = r.ok
        ? renderTransfer(r, t.output, findCommand(t.line ?? 'getfile')?.tableFields, process.stdout.columns)
        : `${escapeControlChars(r.outcome.error ?? r.outcome.status)}\n`;
      if (foreground) out(msg);
      else {
        out(`\n[${r.ok ? r.commandId : r.outcome.commandId}] ${r.ok ? 'downloaded' : 'failed'}: ${msg}`);
        if (!busy && !closed) prompt();
      }
      if (backgroundId) transfers.delete(backgroundId);
      settled();
      release();
    });
    try {
      await handed;
    } finally {
      running = null;
    }
  };

  rl.on('line', (raw) => {
    if (piped) {
      queue.push(raw);
      if (!busy) runQueued();
      return;
    }
    if (busy) {
      out('a command is running: Ctrl+C cancels it, Ctrl+Z sends it to the background\n');
      return;
    }
    runInput(raw);
  });
  const runQueued = (): void => {
    while (!busy && !closed && queue.length > 0) runInput(queue.shift() as string);
    if (!busy) endIfDone();
  };
  const runInput = (raw: string): void => {
    const line = raw.trim();
    if (!line) return prompt();
    try {
      appendFileSync(hfile, line.replace(/\n/g, ' ') + '\n', { mode: 0o600 });
    } catch {
      /* history is a convenience */
    }
    if (line === 'exit' || line === 'quit') {
      queue.length = 0;
      rl.close();
      return;
    }
    busy = true;
    const settle = () => {
      busy = false;
      if (!closed) prompt();
      if (piped) runQueued();
      else if (inputEnded) endIfDone();
    };
    runLine(line).then(settle, (e: Error) => {
      out(`${e.message}\n`);
      settle();
    });
  };
  prompt();
  return finished;
}
