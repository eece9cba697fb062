// The vendor-shaped machine actions: the runliveresponse body is validated strictly with one-line
// errors naming the field, each vendor command becomes a console line that the console reads back to exactly
// the vendor's values, and a batch record is shown as the vendor's machine action (statuses, not-run commands).
import { describe, expect, it } from 'vitest';
import { parseLine } from '../../../src/shared/commands/grammar.js';
import { bindParams } from '../../../src/shared/commands/bind.js';
import { findCommand } from '../../../src/shared/commands/catalog.js';
import type { BatchRecord, BatchStepRecord, BatchTargetRecord } from '../../../src/shared/wire/batch.js';
import { emptyCounts } from '../../../src/shared/wire/batch.js';
import { contentDisposition } from '../../../src/server/batch/machine-action-routes.js';
import {
  consoleLineOf,
  machineAction,
  machineActionOf,
  runLiveResponseRequest,
  vendorCommandOf,
  type LiveResponseCommand,
} from '../../../src/server/batch/machine-actions.js';

function firstIssue(body: unknown): string {
  const r = runLiveResponseRequest.safeParse(body);
  if (r.success) return 'ok';
  const i = r.error.issues[0];
  return `${i?.path.join('.')}: ${i?.message}`;
}

describe('runliveresponse body', () => {
  it("accepts the vendor's example body", () => {
    const body = {
      Commands: [
        { type: 'PutFile', params: [{ key: 'FileName', value: 'tool.sh' }] },
        {
          type: 'RunScript',
          params: [
            { key: 'ScriptName', value: 'x.sh' },
            { key: 'Args', value: '-d /tmp' },
          ],
        },
        { type: 'GetFile', params: [{ key: 'Path', value: '/etc/hosts' }] },
      ],
      Comment: 'triage',
    };
    expect(firstIssue(body)).toBe('ok');
  });

  it('refuses bad bodies with one line naming the field', () => {
    expect(firstIssue({ Commands: [] })).toBe('Commands: Too small: expected array to have >=1 items');
    expect(firstIssue({ Commands: [{ type: 'RunShell', params: [] }] })).toMatch(
      /^Commands\.0\.type: Invalid discriminator value/,
    );
    expect(firstIssue({ Commands: [{ type: 'GetFile', params: [{ key: 'path', value: '/x' }] }] })).toBe(
      'Commands.0.params.0.key: Invalid input: expected "Path"',
    );
    expect(firstIssue({ Commands: [{ type: 'RunScript', params: [{ key: 'Args', value: 'x' }] }] })).toBe(
      'Commands.0.params: RunScript needs the ScriptName parameter',
    );
    expect(
      firstIssue({
        Commands: [
          {
            type: 'RunScript',
            params: [
              { key: 'ScriptName', value: 'a' },
              { key: 'ScriptName', value: 'b' },
            ],
          },
        ],
      }),
    ).toBe('Commands.0.params: RunScript: ScriptName given twice');
    expect(firstIssue({ Commands: [{ type: 'GetFile', params: [{ key: 'Path', value: '/x', extra: 1 }] }] })).toBe(
      'Commands.0.params.0: Unrecognized key: "extra"',
    );
    expect(firstIssue({ Commands: [{ type: 'GetFile', params: [{ key: 'Path', value: '' }] }] })).toMatch(
      /^Commands\.0\.params\.0\.value: Too small/,
    );
    expect(
      firstIssue({ Commands: [{ type: 'GetFile', params: [{ key: 'Path', value: '/x' }] }], comment: 'lower-case' }),
    ).toBe(': Unrecognized key: "comment"');
    expect(
      firstIssue({
        Commands: Array.from({ length: 21 }, () => ({ type: 'GetFile', params: [{ key: 'Path', value: '/x' }] })),
      }),
    ).toMatch(/^Commands: Too big/);
  });
});

describe('vendor command → console line', () => {
  const tricky = [
    '/etc/hosts',
    '/tmp/a b.txt',
    `/tmp/it's "quoted"`,
    '-rf',
    '/tmp/a>b&c',
    'C:\\Program Files\\x.log',
    "o'neil",
    '"',
    "'",
    'x y\tz',
  ];

  it('translates each type to the console command', () => {
    expect(consoleLineOf({ type: 'GetFile', params: [{ key: 'Path', value: '/etc/hosts' }] })).toBe(
      'getfile /etc/hosts',
    );
    expect(consoleLineOf({ type: 'PutFile', params: [{ key: 'FileName', value: 'tool.sh' }] })).toBe('putfile tool.sh');
    expect(consoleLineOf({ type: 'RunScript', params: [{ key: 'ScriptName', value: 'x.sh' }] })).toBe('run x.sh');
    expect(
      consoleLineOf({
        type: 'RunScript',
        params: [
          { key: 'Args', value: '-d /tmp' },
          { key: 'ScriptName', value: 'x.sh' },
        ],
      }),
    ).toBe('run x.sh -parameters "-d /tmp"');
  });

  it('quotes values so the console binds exactly the vendor value, and reads the line back to the vendor command', () => {
    for (const v of tricky) {
      const cmds: LiveResponseCommand[] = [
        { type: 'GetFile', params: [{ key: 'Path', value: v }] },
        { type: 'PutFile', params: [{ key: 'FileName', value: v }] },
        {
          type: 'RunScript',
          params: [
            { key: 'ScriptName', value: 'x.sh' },
            { key: 'Args', value: v },
          ],
        },
      ];
      for (const c of cmds) {
        const line = consoleLineOf(c);
        const parsed = parseLine(line);
        const bound = bindParams(findCommand(parsed.name)!, parsed);
        if (c.type === 'GetFile') expect(bound.path, line).toBe(v);
        if (c.type === 'PutFile') expect(bound.name, line).toBe(v);
        if (c.type === 'RunScript') expect(bound.parameters, line).toBe(v);
        expect(vendorCommandOf(line), line).toEqual(
          c.type === 'RunScript'
            ? {
                type: 'RunScript',
                params: [
                  { key: 'ScriptName', value: 'x.sh' },
                  { key: 'Args', value: v },
                ],
              }
            : c,
        );
      }
    }
  });

  it('is null for lines no vendor command makes', () => {
    expect(vendorCommandOf('processes')).toBeNull();
    expect(vendorCommandOf('getfile "unterminated')).toBeNull();
  });
});

describe('batch record → machine action', () => {
  const step = (index: number, line: string, s: Partial<BatchStepRecord> = {}): BatchStepRecord => ({
    index,
    line,
    status: 'not-run',
    rows: 0,
    textBytes: 0,
    truncated: false,
    ...s,
  });
  const record = (target: Partial<BatchTargetRecord>, extra: Partial<BatchRecord> = {}): BatchRecord => ({
    id: 'act1',
    kind: 'machineaction',
    status: 'running',
    createdBy: 'alice',
    createdAt: '2026-12-05T10:00:00.000Z',
    commands: [],
    target: { devices: ['dev1'] },
    concurrency: 1,
    expiresAt: '2026-12-08T10:00:00.000Z',
    counts: emptyCounts(),
    targets: [{ deviceId: 'dev1', deviceName: 'web-1', status: 'queued', rows: 0, steps: [], ...target }],
    ...extra,
  });
  const lines = ['putfile tool.sh', 'run x.sh -parameters "-v"', 'getfile /etc/hosts'];

  it('a queued action is Pending with every command Created', () => {
    const a = machineActionOf(
      record({ note: 'offline since …', steps: lines.map((l, i) => step(i, l)) }, { comment: 'triage' }),
      { hostname: 'web-1.example.org' },
    );
    expect(machineAction.parse(a)).toEqual(a);
    expect(a).toMatchObject({
      id: 'act1',
      type: 'LiveResponse',
      requestor: 'alice',
      requestorComment: 'triage',
      status: 'Pending',
      machineId: 'dev1',
      computerDnsName: 'web-1.example.org',
      errors: [],
    });
    expect(a.commands.map((c) => [c.index, c.commandStatus, c.errors, c.command.type, c.startTime])).toEqual([
      [0, 'Created', [], 'PutFile', null],
      [1, 'Created', [], 'RunScript', null],
      [2, 'Created', [], 'GetFile', null],
    ]);
    expect(a.commands[1]?.command).toEqual({
      type: 'RunScript',
      params: [
        { key: 'ScriptName', value: 'x.sh' },
        { key: 'Args', value: '-v' },
      ],
    });
  });

  it('a failing RunScript fails the action; the GetFile after it stays Created and says it was not run because command 1 failed', () => {
    const steps = [
      step(0, lines[0]!, {
        status: 'completed',
        startedAt: '2026-12-05T10:00:01.000Z',
        endedAt: '2026-12-05T10:00:02.000Z',
      }),
      step(1, lines[1]!, {
        status: 'failed',
        error: 'run: x.sh exited with code 3',
        startedAt: '2026-12-05T10:00:02.000Z',
        endedAt: '2026-12-05T10:00:04.000Z',
      }),
      step(2, lines[2]!, { status: 'not-run', error: 'not run: step 2 failed' }),
    ];
    const a = machineActionOf(
      record(
        { status: 'failed', note: 'step 2 (run x.sh -parameters "-v") failed: run: x.sh exited with code 3', steps },
        { status: 'failed', endedAt: '2026-12-05T10:00:05.000Z' },
      ),
    );
    expect(a.status).toBe('Failed');
    expect(a.errors).toEqual(['command 1 (RunScript) failed: run: x.sh exited with code 3']);
    expect(a.commands.map((c) => [c.commandStatus, c.errors])).toEqual([
      ['Completed', []],
      ['Failed', ['run: x.sh exited with code 3']],
      ['Created', ['not run: command 1 (RunScript) failed']],
    ]);
    expect(a.lastUpdateDateTimeUtc).toBe('2026-12-05T10:00:05.000Z');
  });

  it('maps every device status and step status', () => {
    const status = (s: BatchTargetRecord['status']) =>
      machineActionOf(record({ status: s, steps: [step(0, lines[2]!)] })).status;
    expect(
      ['queued', 'running', 'completed', 'failed', 'refused', 'cancelled', 'offline-expired'].map((s) =>
        status(s as BatchTargetRecord['status']),
      ),
    ).toEqual(['Pending', 'InProgress', 'Succeeded', 'Failed', 'Failed', 'Cancelled', 'TimeOut']);
    const cmd = (s: BatchStepRecord['status']) =>
      machineActionOf(record({ status: 'running', steps: [step(0, lines[2]!, { status: s })] })).commands[0]
        ?.commandStatus;
    expect(
      ['pending', 'running', 'completed', 'failed', 'refused', 'timed_out', 'cancelled', 'not-run'].map((s) =>
        cmd(s as BatchStepRecord['status']),
      ),
    ).toEqual(['Created', 'InProgress', 'Completed', 'Failed', 'Failed', 'Failed', 'Canceled', 'Created']);
    const expired = machineActionOf(
      record({ status: 'offline-expired', note: 'offline until the batch expired', steps: [step(0, lines[2]!)] }),
    );
    expect(expired.commands[0]?.errors).toEqual(['not run: the machine did not come online before the action expired']);
    const cancelled = machineActionOf(
      record(
        { status: 'cancelled', steps: [step(0, lines[2]!)] },
        { cancelledBy: 'bob', endedAt: '2026-12-05T11:00:00.000Z' },
      ),
      { cancelComment: 'wrong host' },
    );
    expect(cancelled).toMatchObject({
      status: 'Cancelled',
      cancellationRequestor: 'bob',
      cancellationComment: 'wrong host',
      cancellationDateTimeUtc: '2026-12-05T11:00:00.000Z',
    });
    expect(cancelled.commands[0]).toMatchObject({
      commandStatus: 'Canceled',
      errors: ['not run: the action was cancelled'],
    });
    // Cancelled while a command ran: that one is Canceled, and so are the ones after it (nothing failed).
    const midway = machineActionOf(
      record(
        {
          status: 'cancelled',
          steps: [
            step(0, lines[1]!, { status: 'cancelled', error: 'cancelled' }),
            step(1, lines[2]!, { error: 'cancelled' }),
          ],
        },
        { cancelledBy: 'bob' },
      ),
    );
    expect(midway.commands.map((c) => [c.commandStatus, c.errors])).toEqual([
      ['Canceled', ['cancelled']],
      ['Canceled', ['not run: the action was cancelled']],
    ]);
  });
});

describe('GetFile download header', () => {
  it('names any file with a header Node accepts: an ASCII fallback and the exact UTF-8 name', () => {
    expect(contentDisposition('hosts')).toBe(`attachment; filename="hosts"; filename*=UTF-8''hosts`);
    expect(contentDisposition('文件 "x".txt')).toBe(
      `attachment; filename="__ _x_.txt"; filename*=UTF-8''%E6%96%87%E4%BB%B6%20%22x%22.txt`,
    );
    expect(contentDisposition("it's(1).log")).toBe(
      `attachment; filename="it's(1).log"; filename*=UTF-8''it%27s%281%29.log`,
    );
    expect(contentDisposition('a\r\nb')).toBe(`attachment; filename="a__b"; filename*=UTF-8''a%0D%0Ab`);
  });
});
