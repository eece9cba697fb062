/**
 * crontab(5) and at-job parsing. System crontabs (/etc/crontab, /etc/cron.d/*) carry a user field after
 * the five time fields; per-user crontabs do not. Comments, blank lines and environment assignments are
 * not jobs; `@reboot`, `@daily`... are schedules.
 */

export interface CronEntry {
  /** 1-based line number in the file. */
  line: number;
  schedule: string;
  /** The user field of a system crontab; null in a per-user crontab (the file name tells). */
  user: string | null;
  command: string;
}

const ENV_ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*\s*=/;
const FIVE_FIELDS = /^(\S+\s+\S+\s+\S+\s+\S+\s+\S+)\s+(.*)$/;
const NICKNAME = /^(@[a-z]+)\s+(.*)$/;
const USER_AND_COMMAND = /^(\S+)\s+(.*)$/;

export function parseCrontab(text: string, systemFormat: boolean): CronEntry[] {
  const entries: CronEntry[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || ENV_ASSIGNMENT.test(line)) return;
    const timed = NICKNAME.exec(line) ?? FIVE_FIELDS.exec(line);
    if (!timed) return;
    const schedule = (timed[1] as string).replace(/\s+/g, ' ');
    let rest = (timed[2] as string).trim();
    let user: string | null = null;
    if (systemFormat) {
      const split = USER_AND_COMMAND.exec(rest);
      if (!split) return;
      user = split[1] as string;
      rest = (split[2] as string).trim();
    }
    if (rest === '') return;
    entries.push({ line: index + 1, schedule, user, command: rest });
  });
  return entries;
}

/** Lines of /etc/anacrontab: `period delay job-identifier command`. */
export function parseAnacrontab(text: string): CronEntry[] {
  const entries: CronEntry[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || ENV_ASSIGNMENT.test(line)) return;
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(.+)$/.exec(line);
    if (!m) return;
    entries.push({
      line: index + 1,
      schedule: `anacron period ${m[1]}, delay ${m[2]} min (${m[3]})`,
      user: 'root',
      command: (m[4] as string).trim(),
    });
  });
  return entries;
}

export interface AtJob {
  /** When it runs (ISO), from the job file name; null when the name is not at's. */
  runAt: string | null;
  uid: number | null;
  command: string;
}

/**
 * An at(1) spool file. Its name is `<queue><5 hex job number><8 hex minutes since the epoch>`; its
 * body is a shell script that restores the environment, then runs the user's commands in a heredoc
 * (`${SHELL:-/bin/sh} << 'marcinDELIMITER...'`) or, with older at, after the `cd ... || { ... }` block.
 */
export function parseAtJob(fileName: string, text: string): AtJob {
  const name = /^[a-zA-Z=][0-9a-f]{5}([0-9a-f]{8})$/.exec(fileName);
  const runAt = name ? new Date(parseInt(name[1] as string, 16) * 60_000).toISOString() : null;
  const uid = /^# atrun uid=(\d+)/m.exec(text);
  const lines = text.split('\n');
  let body: string[] = [];
  const heredoc = lines.findIndex((l) => /<<\s*'?(marcinDELIMITER\w*)'?\s*$/.test(l));
  if (heredoc >= 0) {
    const delimiter = /<<\s*'?(marcinDELIMITER\w*)'?/.exec(lines[heredoc] as string)?.[1] as string;
    const end = lines.indexOf(delimiter, heredoc + 1);
    body = lines.slice(heredoc + 1, end < 0 ? undefined : end);
  } else {
    const cdBlockEnd = lines.findIndex(
      (l, i) => l.trim() === '}' && i > 0 && lines.slice(0, i).some((p) => /^cd .*\|\|\s*\{/.test(p)),
    );
    body = lines.slice(cdBlockEnd + 1);
  }
  const command = body
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .join('; ');
  return { runAt, uid: uid ? Number(uid[1]) : null, command };
}
