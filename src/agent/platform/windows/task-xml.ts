/**
 * A task definition of the Windows task store (`%SystemRoot%\System32\Tasks\...`, Task Scheduler schema 1.2+)
 * summarised for an analyst: who it runs as, when (its triggers in words), what (its actions), whether it is
 * enabled. Pure: the caller reads the file.
 */
import { child, children, decodeXmlBytes, parseXml, textAt, type XmlElement } from './xml.js';

export interface TaskDefinition {
  /** The principal's account (UserId, else `<GroupId> (group)`), null when the task names none. */
  user: string | null;
  author: string | null;
  /** The triggers in words, `; `-separated (`on demand` when there is none). */
  schedule: string;
  /** The actions, ` ; `-separated: an Exec's command and arguments, a COM handler's class id... */
  command: string;
  /** Settings/Enabled (a task is enabled unless it says false). */
  enabled: boolean;
  /** Settings/Hidden: hidden from the Task Scheduler's user interface. */
  hidden: boolean;
}

/** Accounts Windows names by well-known SIDs in task definitions. */
const WELL_KNOWN_SIDS: Readonly<Record<string, string>> = {
  'S-1-5-18': 'NT AUTHORITY\\SYSTEM',
  'S-1-5-19': 'NT AUTHORITY\\LOCAL SERVICE',
  'S-1-5-20': 'NT AUTHORITY\\NETWORK SERVICE',
  'S-1-1-0': 'Everyone',
  'S-1-5-4': 'NT AUTHORITY\\INTERACTIVE',
  'S-1-5-11': 'NT AUTHORITY\\Authenticated Users',
  'S-1-5-32-544': 'BUILTIN\\Administrators',
  'S-1-5-32-545': 'BUILTIN\\Users',
  'S-1-5-32-546': 'BUILTIN\\Guests',
};

export function accountName(id: string): string {
  return WELL_KNOWN_SIDS[id.toUpperCase()] ?? id;
}

/** Names an account as written in a task (a SID or `DOMAIN\\name`). */
export type AccountNamer = (id: string) => string;

/**
 * Parses a task file's bytes (UTF-16 LE with BOM as the Task Scheduler writes it, or UTF-8). Throws on malformed
 * XML. `names` turns the accounts it names (often SIDs) into names; by default only well-known SIDs are named.
 */
export function parseTaskXml(bytes: Uint8Array, names: AccountNamer = accountName): TaskDefinition {
  const task = parseXml(decodeXmlBytes(bytes));
  if (task.name !== 'Task') throw new Error(`not a task definition (root element <${task.name}>)`);
  const settings = child(task, 'Settings');
  const actions = child(task, 'Actions');
  return {
    user: principalAccount(task, actions, names),
    author: textAt(task, 'RegistrationInfo', 'Author'),
    schedule: summariseTriggers(child(task, 'Triggers'), names),
    command: summariseActions(actions),
    enabled: textAt(settings, 'Enabled')?.toLowerCase() !== 'false',
    hidden: textAt(settings, 'Hidden')?.toLowerCase() === 'true',
  };
}

/** The principal the actions run as (Actions@Context names it; else the first one). */
function principalAccount(task: XmlElement, actions: XmlElement | null, names: AccountNamer): string | null {
  const principals = children(child(task, 'Principals'), 'Principal');
  const context = actions?.attributes.Context;
  const p = principals.find((x) => context !== undefined && x.attributes.id === context) ?? principals[0];
  const user = textAt(p, 'UserId');
  if (user) return names(user);
  const group = textAt(p, 'GroupId');
  if (group) return `${names(group)} (group)`;
  return null;
}

// ---------- triggers ----------

/** `PT5M` → `5 min`, `P1DT2H` → `1 day 2 h` (ISO 8601 durations as the schema writes them). */
export function humanDuration(iso: string): string {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
    iso.trim(),
  );
  if (!m) return iso;
  const units: Array<[string | undefined, string, string]> = [
    [m[1], 'year', 'years'],
    [m[2], 'month', 'months'],
    [m[3], 'week', 'weeks'],
    [m[4], 'day', 'days'],
    [m[5], 'h', 'h'],
    [m[6], 'min', 'min'],
    [m[7], 's', 's'],
  ];
  const parts = units
    .filter(([v]) => v !== undefined && Number(v) !== 0)
    .map(([v, one, many]) => `${Number(v)} ${Number(v) === 1 ? one : many}`);
  return parts.length > 0 ? parts.join(' ') : '0 s';
}

/** `2024-01-01T09:00:00` → { date: '2024-01-01', time: '09:00' } (a zone suffix is kept on the time). */
function boundary(value: string | null): { date: string; time: string } | null {
  const m = value ? /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/.exec(value) : null;
  return m ? { date: m[1]!, time: `${m[2]}${m[3] ? ` ${m[3]}` : ''}` } : null;
}

const DAY_ABBREV: Readonly<Record<string, string>> = {
  Sunday: 'Sun',
  Monday: 'Mon',
  Tuesday: 'Tue',
  Wednesday: 'Wed',
  Thursday: 'Thu',
  Friday: 'Fri',
  Saturday: 'Sat',
};
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function dayList(el: XmlElement | null): string {
  return (el?.children ?? []).map((d) => DAY_ABBREV[d.name] ?? d.name).join(', ');
}

/** ` in Jan, Jun` or '' when every month is listed (or none, which means every month). */
function monthList(el: XmlElement | null): string {
  const months = (el?.children ?? []).map((m) => m.name);
  if (months.length === 0 || MONTHS.every((m) => months.includes(m))) return '';
  return ` in ${months.map((m) => m.slice(0, 3)).join(', ')}`;
}

const ORDINAL: Readonly<Record<string, string>> = {
  '1': 'first',
  '2': 'second',
  '3': 'third',
  '4': 'fourth',
  Last: 'last',
};

function calendar(trigger: XmlElement): string {
  const byDay = child(trigger, 'ScheduleByDay');
  if (byDay) {
    const n = Number(textAt(byDay, 'DaysInterval') ?? '1');
    return n === 1 ? 'daily' : `every ${n} days`;
  }
  const byWeek = child(trigger, 'ScheduleByWeek');
  if (byWeek) {
    const n = Number(textAt(byWeek, 'WeeksInterval') ?? '1');
    const days = dayList(child(byWeek, 'DaysOfWeek'));
    return `${n === 1 ? 'weekly' : `every ${n} weeks`}${days ? ` on ${days}` : ''}`;
  }
  const byMonth = child(trigger, 'ScheduleByMonth');
  if (byMonth) {
    const days = children(child(byMonth, 'DaysOfMonth'), 'Day').map((d) =>
      d.text.trim() === 'Last' ? 'last' : d.text.trim(),
    );
    return `monthly on day ${days.join(', ') || '?'}${monthList(child(byMonth, 'Months'))}`;
  }
  const byDow = child(trigger, 'ScheduleByMonthDayOfWeek');
  if (byDow) {
    const weeks = children(child(byDow, 'Weeks'), 'Week').map((w) => ORDINAL[w.text.trim()] ?? w.text.trim());
    return `monthly on the ${weeks.join(', ') || '?'} ${dayList(child(byDow, 'DaysOfWeek')) || '?'}${monthList(child(byDow, 'Months'))}`;
  }
  return 'calendar';
}

const SESSION_STATE: Readonly<Record<string, string>> = {
  ConsoleConnect: 'at console connect',
  ConsoleDisconnect: 'at console disconnect',
  RemoteConnect: 'at remote connect',
  RemoteDisconnect: 'at remote disconnect',
  SessionLock: 'at session lock',
  SessionUnlock: 'at session unlock',
};

/** `on event (Security: *[System[EventID=4624]])` from an EventTrigger's subscription (a QueryList, itself XML). */
function eventTrigger(trigger: XmlElement): string {
  const subscription = textAt(trigger, 'Subscription');
  if (!subscription) return 'on event';
  try {
    const query = parseXml(subscription);
    const selects = children(child(query, 'Query'), 'Select').map(
      (s) => `${s.attributes.Path ?? '?'}: ${s.text.trim()}`,
    );
    if (selects.length > 0) return `on event (${selects.join(' | ')})`;
  } catch {
    // Not a QueryList: shown as written.
  }
  return `on event (${subscription.replace(/\s+/g, ' ').slice(0, 300)})`;
}

function ofUser(trigger: XmlElement, names: AccountNamer): string {
  const user = textAt(trigger, 'UserId');
  return user ? ` of ${names(user)}` : '';
}

/** One trigger in words: `daily at 09:00 from 2024-01-01, every 5 min for 1 day, until 2025-01-01`. */
export function summariseTrigger(trigger: XmlElement, names: AccountNamer = accountName): string {
  const start = boundary(textAt(trigger, 'StartBoundary'));
  let base: string;
  switch (trigger.name) {
    case 'BootTrigger':
      base = 'at boot';
      break;
    case 'LogonTrigger':
      base = `at logon${ofUser(trigger, names)}`;
      break;
    case 'IdleTrigger':
      base = 'when idle';
      break;
    case 'RegistrationTrigger':
      base = 'at task registration';
      break;
    case 'EventTrigger':
      base = eventTrigger(trigger);
      break;
    case 'SessionStateChangeTrigger': {
      const state = textAt(trigger, 'StateChange') ?? '';
      base = `${SESSION_STATE[state] ?? `at session state change ${state}`}${ofUser(trigger, names)}`;
      break;
    }
    case 'WnfStateChangeTrigger':
      base = `on WNF state change ${textAt(trigger, 'StateName') ?? ''}`.trim();
      break;
    case 'TimeTrigger':
      base = start ? `once at ${start.date} ${start.time}` : 'once';
      break;
    case 'CalendarTrigger':
      base = `${calendar(trigger)}${start ? ` at ${start.time} from ${start.date}` : ''}`;
      break;
    default:
      base = trigger.name;
  }
  const parts = [base];
  const repetition = child(trigger, 'Repetition');
  const interval = textAt(repetition, 'Interval');
  if (interval) {
    const duration = textAt(repetition, 'Duration');
    parts.push(`every ${humanDuration(interval)}${duration ? ` for ${humanDuration(duration)}` : ''}`);
  }
  // Boundaries of event-like triggers only bound when they may fire; shown when they are not the calendar's own.
  if (start && trigger.name !== 'TimeTrigger' && trigger.name !== 'CalendarTrigger')
    parts.push(`from ${start.date} ${start.time}`);
  const end = boundary(textAt(trigger, 'EndBoundary'));
  if (end) parts.push(`until ${end.date} ${end.time}`);
  const delay = textAt(trigger, 'Delay');
  if (delay) parts.push(`delay ${humanDuration(delay)}`);
  const random = textAt(trigger, 'RandomDelay');
  if (random) parts.push(`random delay ${humanDuration(random)}`);
  if (textAt(trigger, 'Enabled')?.toLowerCase() === 'false') parts.push('(trigger disabled)');
  return parts.join(', ');
}

export function summariseTriggers(triggers: XmlElement | null, names: AccountNamer = accountName): string {
  const all = triggers?.children ?? [];
  return all.length > 0 ? all.map((t) => summariseTrigger(t, names)).join('; ') : 'on demand';
}

// ---------- actions ----------

function quoted(command: string): string {
  return /\s/.test(command) && !command.startsWith('"') ? `"${command}"` : command;
}

export function summariseAction(action: XmlElement): string {
  switch (action.name) {
    case 'Exec': {
      const command = textAt(action, 'Command') ?? '';
      const args = textAt(action, 'Arguments');
      return `${quoted(command)}${args ? ` ${args}` : ''}`;
    }
    case 'ComHandler': {
      const data = textAt(action, 'Data');
      return `COM handler ${textAt(action, 'ClassId') ?? '?'}${data ? ` data ${data.replace(/\s+/g, ' ')}` : ''}`;
    }
    case 'SendEmail':
      return `send e-mail to ${textAt(action, 'To') ?? '?'}`;
    case 'ShowMessage':
      return `show message "${textAt(action, 'Title') ?? ''}"`;
    default:
      return action.name;
  }
}

export function summariseActions(actions: XmlElement | null): string {
  return (actions?.children ?? []).map(summariseAction).join(' ; ');
}
