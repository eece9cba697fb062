/**
 * Runs one script process for `run`: argv array (never a shell), its own process group (on Windows: its
 * own Job Object), stdout and stderr streamed as text with backpressure (the stream pauses while the link
 * is full), and on abort (cancel, time limit, session closed) the whole process tree is killed before this
 * resolves. On Windows the caller passes a command line already quoted (platform/windows/command-line.ts):
 * it is handed over verbatim.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { trackTree, type TrackedTree } from './kill-tree.js';

export interface ScriptRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdoutBytes: number;
  stderrBytes: number;
  durationMs: number;
  /** True when the run was stopped through the abort signal. */
  aborted: boolean;
}

export interface ScriptProcessOptions {
  command: string;
  args: string[];
  /**
   * Windows: `args` (and `argv0`) are the exact, already quoted words of the command line: nothing
   * re-quotes them (windowsVerbatimArguments).
   */
  verbatim?: { argv0: string };
  cwd: string;
  signal: AbortSignal;
  /** Told when the process tree could not be held or ended as a whole (Windows: no Job Object, a job that failed). */
  onTrackProblem?(problem: string): void;
  /** Receives decoded output; the returned promise pauses the stream until the text is sent. */
  output(text: string, stream: 'stdout' | 'stderr'): Promise<void>;
}

/** How long output may keep arriving after the script exits (a background child may hold the pipe). */
const DRAIN_AFTER_EXIT_MS = 1_000;
/** Name of the environment variable that marks every process of one run (see process-tree.ts). */
export const RUN_MARKER_VARIABLE = 'LR_RUN_ID';

function pump(
  stream: Readable,
  name: 'stdout' | 'stderr',
  output: ScriptProcessOptions['output'],
  count: (n: number) => void,
): Promise<void> {
  const decoder = new StringDecoder('utf8');
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      count(chunk.length);
      const text = decoder.write(chunk);
      if (!text) return;
      stream.pause();
      output(text, name).then(
        () => stream.resume(),
        () => stream.resume(),
      );
    });
    const done = () => {
      const rest = decoder.end();
      if (rest) void output(rest, name);
      resolve();
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

export function runScriptProcess(opts: ScriptProcessOptions): Promise<ScriptRun> {
  const marker = `${RUN_MARKER_VARIABLE}=${randomBytes(12).toString('hex')}`;
  const [markerName, markerValue] = marker.split('=') as [string, string];
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const windows = process.platform === 'win32';
    const child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      // Own process group: the tree can be signalled as one. On Windows `detached` would give each
      // console child its own console instead; the tree is held by a Job Object there.
      detached: !windows,
      windowsHide: true,
      ...(opts.verbatim ? { argv0: opts.verbatim.argv0, windowsVerbatimArguments: true } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, [markerName]: markerValue },
    });
    // At once, before the process had time to start children of its own (they join its job on Windows).
    let tree: TrackedTree | null = null;
    if (child.pid !== undefined) {
      tree = trackTree(child.pid, { envMarker: marker });
      if (tree.problem) opts.onTrackProblem?.(`the process tree is not in a job (${tree.problem})`);
    }
    let stdoutBytes = 0;
    let stderrBytes = 0;
    let aborted = false;
    let killing: Promise<unknown> = Promise.resolve();
    const stdout = pump(child.stdout, 'stdout', opts.output, (n) => (stdoutBytes += n));
    const stderr = pump(child.stderr, 'stderr', opts.output, (n) => (stderrBytes += n));

    const onAbort = () => {
      aborted = true;
      if (tree)
        killing = tree
          .kill()
          .catch((e: Error) => opts.onTrackProblem?.(`the process tree could not be ended: ${e.message}`));
    };
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });

    child.once('error', (e) => {
      opts.signal.removeEventListener('abort', onAbort);
      tree?.release();
      reject(e);
    });
    child.once('exit', (exitCode, signal) => {
      opts.signal.removeEventListener('abort', onAbort);
      const drained = Promise.all([stdout, stderr]);
      const grace = new Promise<void>((r) => setTimeout(r, DRAIN_AFTER_EXIT_MS).unref());
      void Promise.race([drained, grace])
        .then(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          return killing; // on abort: resolve only once every process of the tree is gone
        })
        .finally(() => tree?.release()) // Windows: closing the job ends what the script left running
        .then(() => resolve({ exitCode, signal, stdoutBytes, stderrBytes, durationMs: Date.now() - started, aborted }));
    });
  });
}
