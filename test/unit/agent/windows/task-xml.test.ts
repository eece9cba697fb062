// Task definitions of the Windows task store (Task Scheduler schema) read and summarised without Windows:
// encodings, triggers, actions, principals, malformed files, and the store walked as folders of files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { humanDuration, parseTaskXml } from '../../../../src/agent/platform/windows/task-xml.js';
import { readTaskStore } from '../../../../src/agent/platform/windows/scheduled-tasks.js';
import { decodeXmlBytes, parseXml } from '../../../../src/agent/platform/windows/xml.js';

const NS = 'http://schemas.microsoft.com/windows/2004/02/mit/task';

/** A task file as the Task Scheduler writes it (declaration says UTF-16; bytes UTF-16 LE with a BOM). */
function taskXml(parts: {
  triggers?: string;
  actions?: string;
  principals?: string;
  settings?: string;
  author?: string;
  context?: string;
}): string {
  return `<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="${NS}">
  <RegistrationInfo>
    <Date>2024-01-01T08:00:00</Date>
    ${parts.author === undefined ? '<Author>CONTOSO\\admin</Author>' : parts.author}
    <URI>\\Updater</URI>
  </RegistrationInfo>
  <Triggers>${parts.triggers ?? ''}</Triggers>
  <Principals>${parts.principals ?? '<Principal id="Author"><UserId>S-1-5-18</UserId><RunLevel>HighestAvailable</RunLevel></Principal>'}</Principals>
  <Settings>${parts.settings ?? '<MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy><Enabled>true</Enabled>'}</Settings>
  <Actions Context="${parts.context ?? 'Author'}">${parts.actions ?? '<Exec><Command>C:\\Users\\Public\\dropper.exe</Command><Arguments>-silent</Arguments></Exec>'}</Actions>
</Task>`;
}
const utf16 = (s: string): Buffer => Buffer.from(`\uFEFF${s}`, 'utf16le');
const schedule = (triggers: string): string => parseTaskXml(utf16(taskXml({ triggers }))).schedule;

describe('task definitions: encodings', () => {
  it('reads UTF-16 LE with a BOM (as the Task Scheduler writes), UTF-16 BE, and UTF-8 with or without a BOM', () => {
    const xml = taskXml({ triggers: '<LogonTrigger><Enabled>true</Enabled></LogonTrigger>' });
    const utf8 = xml.replace('encoding="UTF-16"', 'encoding="UTF-8"');
    for (const bytes of [
      utf16(xml),
      Buffer.from(xml, 'utf16le'),
      Buffer.from(`\uFEFF${xml}`, 'utf16le').swap16(),
      Buffer.from(utf8),
      Buffer.from(`\uFEFF${utf8}`),
    ]) {
      const t = parseTaskXml(bytes);
      expect(t).toEqual({
        user: 'NT AUTHORITY\\SYSTEM',
        author: 'CONTOSO\\admin',
        schedule: 'at logon',
        command: 'C:\\Users\\Public\\dropper.exe -silent',
        enabled: true,
        hidden: false,
      });
    }
  });

  it('decodes non-ASCII text in every encoding', () => {
    const xml = taskXml({ actions: '<Exec><Command>C:\\Users\\Zoë\\Ωmega.exe</Command></Exec>' });
    expect(parseTaskXml(utf16(xml)).command).toBe('C:\\Users\\Zoë\\Ωmega.exe');
    expect(parseTaskXml(Buffer.from(xml)).command).toBe('C:\\Users\\Zoë\\Ωmega.exe');
    expect(decodeXmlBytes(Buffer.from([0xef, 0xbb, 0xbf, 0x3c, 0x61, 0x2f, 0x3e]))).toBe('<a/>');
  });
});

describe('task definitions: triggers in words', () => {
  it('summarises logon, boot, idle, registration and session triggers', () => {
    expect(schedule('<LogonTrigger/>')).toBe('at logon');
    expect(schedule('<LogonTrigger><UserId>CONTOSO\\bob</UserId></LogonTrigger>')).toBe('at logon of CONTOSO\\bob');
    expect(schedule('<BootTrigger><Delay>PT30S</Delay></BootTrigger>')).toBe('at boot, delay 30 s');
    expect(schedule('<IdleTrigger/>')).toBe('when idle');
    expect(schedule('<RegistrationTrigger/>')).toBe('at task registration');
    expect(
      schedule('<SessionStateChangeTrigger><StateChange>SessionUnlock</StateChange></SessionStateChangeTrigger>'),
    ).toBe('at session unlock');
    expect(schedule('')).toBe('on demand');
  });

  it('summarises calendar triggers with their time and first day', () => {
    expect(
      schedule(
        '<CalendarTrigger><StartBoundary>2024-01-01T09:00:00</StartBoundary><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>',
      ),
    ).toBe('daily at 09:00 from 2024-01-01');
    expect(
      schedule(
        '<CalendarTrigger><StartBoundary>2024-01-01T09:00:00Z</StartBoundary><ScheduleByDay><DaysInterval>3</DaysInterval></ScheduleByDay></CalendarTrigger>',
      ),
    ).toBe('every 3 days at 09:00 Z from 2024-01-01');
    expect(
      schedule(
        '<CalendarTrigger><StartBoundary>2024-02-05T22:15:00</StartBoundary><ScheduleByWeek><DaysOfWeek><Monday/><Friday/></DaysOfWeek><WeeksInterval>2</WeeksInterval></ScheduleByWeek></CalendarTrigger>',
      ),
    ).toBe('every 2 weeks on Mon, Fri at 22:15 from 2024-02-05');
    expect(
      schedule(
        '<CalendarTrigger><StartBoundary>2024-01-01T03:00:00</StartBoundary><ScheduleByMonth><DaysOfMonth><Day>1</Day><Day>Last</Day></DaysOfMonth><Months><January/><July/></Months></ScheduleByMonth></CalendarTrigger>',
      ),
    ).toBe('monthly on day 1, last in Jan, Jul at 03:00 from 2024-01-01');
    expect(
      schedule(
        '<CalendarTrigger><StartBoundary>2024-01-01T03:00:00</StartBoundary><ScheduleByMonthDayOfWeek><Weeks><Week>2</Week></Weeks><DaysOfWeek><Tuesday/></DaysOfWeek></ScheduleByMonthDayOfWeek></CalendarTrigger>',
      ),
    ).toBe('monthly on the second Tue at 03:00 from 2024-01-01');
    expect(schedule('<TimeTrigger><StartBoundary>2024-03-04T05:06:07</StartBoundary></TimeTrigger>')).toBe(
      'once at 2024-03-04 05:06',
    );
  });

  it('adds repetition, end, random delay and a disabled trigger; joins several triggers', () => {
    expect(
      schedule(
        '<TimeTrigger><Repetition><Interval>PT5M</Interval></Repetition><StartBoundary>2024-01-01T00:00:00</StartBoundary></TimeTrigger>',
      ),
    ).toBe('once at 2024-01-01 00:00, every 5 min');
    expect(
      schedule(
        '<LogonTrigger><Repetition><Interval>PT1H</Interval><Duration>P1D</Duration></Repetition><EndBoundary>2025-01-01T00:00:00</EndBoundary><Enabled>false</Enabled></LogonTrigger>',
      ),
    ).toBe('at logon, every 1 h for 1 day, until 2025-01-01 00:00, (trigger disabled)');
    expect(schedule('<BootTrigger/><LogonTrigger/>')).toBe('at boot; at logon');
    expect(
      schedule(
        '<CalendarTrigger><StartBoundary>2024-01-01T09:00:00</StartBoundary><RandomDelay>PT1H30M</RandomDelay><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>',
      ),
    ).toBe('daily at 09:00 from 2024-01-01, random delay 1 h 30 min');
    expect(humanDuration('P2DT0H10M')).toBe('2 days 10 min');
    expect(humanDuration('garbage')).toBe('garbage');
  });

  it('reads an event trigger subscription (escaped XML inside the task) without evaluating anything', () => {
    const sub =
      '&lt;QueryList&gt;&lt;Query Id="0" Path="Security"&gt;&lt;Select Path="Security"&gt;*[System[EventID=4624]]&lt;/Select&gt;&lt;/Query&gt;&lt;/QueryList&gt;';
    expect(schedule(`<EventTrigger><Subscription>${sub}</Subscription></EventTrigger>`)).toBe(
      'on event (Security: *[System[EventID=4624]])',
    );
    expect(schedule('<EventTrigger><Subscription>not xml</Subscription></EventTrigger>')).toBe('on event (not xml)');
  });
});

describe('task definitions: actions, principals, settings', () => {
  it('lists every action: Exec with arguments (quoted when spaced), COM handler, e-mail, message', () => {
    const actions =
      '<Exec><Command>C:\\Program Files\\App\\up.exe</Command><Arguments>/quiet</Arguments><WorkingDirectory>C:\\</WorkingDirectory></Exec>' +
      '<Exec><Command>powershell.exe</Command><Arguments>-enc SQBFAFgA</Arguments></Exec>' +
      '<ComHandler><ClassId>{A6BA00FE-40E8-477C-B713-C64A14F18ADB}</ClassId><Data><![CDATA[<x>1</x>]]></Data></ComHandler>' +
      '<SendEmail><To>a@b.c</To></SendEmail><ShowMessage><Title>Hi</Title></ShowMessage>';
    expect(parseTaskXml(utf16(taskXml({ actions }))).command).toBe(
      '"C:\\Program Files\\App\\up.exe" /quiet ; powershell.exe -enc SQBFAFgA ; COM handler {A6BA00FE-40E8-477C-B713-C64A14F18ADB} data <x>1</x> ; send e-mail to a@b.c ; show message "Hi"',
    );
  });

  it('runs as the principal the actions name; a group as such; no principal leaves the user to the caller', () => {
    const two =
      '<Principal id="Other"><UserId>CONTOSO\\eve</UserId></Principal><Principal id="Users"><GroupId>S-1-5-32-545</GroupId></Principal>';
    expect(parseTaskXml(utf16(taskXml({ principals: two, context: 'Users' }))).user).toBe('BUILTIN\\Users (group)');
    expect(parseTaskXml(utf16(taskXml({ principals: two, context: 'Nope' }))).user).toBe('CONTOSO\\eve');
    const none = parseTaskXml(utf16(taskXml({ principals: '', author: '' })));
    expect(none.user).toBeNull();
    expect(none.author).toBeNull();
  });

  it('reads Enabled (default true) and Hidden', () => {
    expect(parseTaskXml(utf16(taskXml({ settings: '<Enabled>false</Enabled><Hidden>true</Hidden>' })))).toMatchObject({
      enabled: false,
      hidden: true,
    });
    expect(parseTaskXml(utf16(taskXml({ settings: '' })))).toMatchObject({ enabled: true, hidden: false });
  });
});

describe('task definitions: malformed and hostile files', () => {
  it('refuses malformed XML with a line number', () => {
    expect(() => parseTaskXml(utf16(taskXml({}).replace('</Actions>', '</Action>')))).toThrow(
      /line 11: end tag <\/Action> does not match <Actions>/,
    );
    expect(() => parseTaskXml(utf16(taskXml({}).slice(0, 300)))).toThrow(/is not closed|unterminated/);
    expect(() => parseTaskXml(Buffer.from('<Foo/>'))).toThrow(/not a task definition \(root element <Foo>\)/);
    expect(() => parseTaskXml(Buffer.from(''))).toThrow(/no root element/);
    expect(() => parseXml('<a b="1" b="2"/>')).toThrow(/duplicate attribute/);
    expect(() => parseXml('<a>&bogus;</a>')).toThrow(/unknown entity/);
    expect(() => parseXml('<a>&#xD800;</a>')).toThrow(/bad character reference/);
  });

  it('never evaluates a DTD: a DOCTYPE (external or internal entities) is refused', () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE Task [<!ENTITY x SYSTEM "file:///etc/passwd">]><Task xmlns="${NS}"><RegistrationInfo><Author>&x;</Author></RegistrationInfo></Task>`;
    expect(() => parseTaskXml(Buffer.from(xxe))).toThrow(/DTDs and declarations are not accepted/);
    expect(() => parseXml('<a>&x;</a>')).toThrow(/unknown entity &x;/);
  });

  it('decodes the predefined entities and character references, and CDATA as is', () => {
    expect(parseXml('<a x="&quot;&#65;&#x42;&apos;">&lt;b&gt; &amp; <![CDATA[&lt;]]></a>')).toEqual({
      name: 'a',
      attributes: { x: '"AB\'' },
      children: [],
      text: '<b> & &lt;',
    });
  });
});

describe('the task store walked as folders of task files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lr-taskstore-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names each task by its folder path, keeps a broken file as a record with error, reads nested folders', async () => {
    mkdirSync(join(dir, 'Microsoft', 'Windows', 'Defrag'), { recursive: true });
    writeFileSync(join(dir, 'Updater'), utf16(taskXml({ triggers: '<LogonTrigger/>' })));
    writeFileSync(
      join(dir, 'Microsoft', 'Windows', 'Defrag', 'ScheduledDefrag'),
      utf16(
        taskXml({
          triggers:
            '<CalendarTrigger><StartBoundary>2024-01-01T01:00:00</StartBoundary><ScheduleByWeek><DaysOfWeek><Sunday/></DaysOfWeek></ScheduleByWeek></CalendarTrigger>',
          settings: '<Enabled>false</Enabled>',
          principals: '',
        }),
      ),
    );
    writeFileSync(join(dir, 'Broken'), utf16('<Task><Actions>'));
    writeFileSync(join(dir, 'Huge'), Buffer.alloc((1 << 20) + 10, 0x20));
    const records = await readTaskStore(dir);
    expect(records.map((r) => r.name)).toEqual([
      '\\Broken',
      '\\Huge',
      '\\Microsoft\\Windows\\Defrag\\ScheduledDefrag',
      '\\Updater',
    ]);
    const byName = new Map(records.map((r) => [r.name, r]));
    expect(byName.get('\\Updater')).toEqual({
      kind: 'windows-task',
      source: join(dir, 'Updater'),
      name: '\\Updater',
      user: 'NT AUTHORITY\\SYSTEM',
      schedule: 'at logon',
      command: 'C:\\Users\\Public\\dropper.exe -silent',
      enabled: true,
      author: 'CONTOSO\\admin',
      line: null,
    });
    // No principal: the author registered it and it runs as them.
    expect(byName.get('\\Microsoft\\Windows\\Defrag\\ScheduledDefrag')).toMatchObject({
      user: 'CONTOSO\\admin',
      enabled: false,
      schedule: 'weekly on Sun at 01:00 from 2024-01-01',
    });
    expect(byName.get('\\Broken')).toMatchObject({
      kind: 'windows-task',
      schedule: 'unreadable',
      command: '',
      error: 'not a valid task definition: line 1: <Actions> is not closed',
    });
    expect(byName.get('\\Huge')!.error).toMatch(/larger than 1048576 bytes/);
    expect(byName.get('\\Broken')!.enabled).toBeUndefined(); // unknown, not "disabled"
  });

  it('stops when aborted, and an unreadable root is an error', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(readTaskStore(dir, ac.signal)).rejects.toThrow();
    await expect(readTaskStore(join(dir, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
