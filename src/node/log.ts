/**
 * A small structured logger: JSON lines on stderr, a level filter, and taps (the agent streams a
 * session's trace lines to the analyst through a tap). Secrets are never passed to it: callers log ids,
 * never tokens or keys.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel | 'off', number> = { off: 0, error: 1, warn: 2, info: 3, debug: 4 };

export type LogTap = (level: LogLevel, msg: string, fields: Record<string, unknown>) => void;

export class Logger {
  private readonly taps = new Set<LogTap>();
  constructor(
    private readonly name: string,
    public level: LogLevel | 'off' = (process.env.LR_LOG_LEVEL as LogLevel | undefined) ?? 'info',
    private readonly sink: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  ) {}

  tap(fn: LogTap): () => void {
    this.taps.add(fn);
    return () => this.taps.delete(fn);
  }

  private write(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    for (const t of this.taps) t(level, msg, fields);
    if (RANK[level] > RANK[this.level]) return;
    this.sink(JSON.stringify({ time: new Date().toISOString(), level, name: this.name, msg, ...fields }));
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.write('error', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write('warn', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.write('info', msg, fields);
  }
  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write('debug', msg, fields);
  }
}

export function levelAllows(threshold: LogLevel | 'off', level: LogLevel): boolean {
  return RANK[level] <= RANK[threshold];
}
