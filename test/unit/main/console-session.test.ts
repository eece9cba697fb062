/**
 * ConsoleSession (src/main/services/consoles.ts), the workstation's side of one console: what a command
 * line becomes on the console's output, Ctrl+C before and after the service named the command, a device
 * going offline mid-command, and the end of the session. The service is FakeConsoleClient, named as such:
 * it records what the session asks of it and lets the test answer as the service would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  CommandHandlers,
  CommandOutcome,
  ConsoleClient,
  ConsoleEvents,
} from '../../../src/client/console-client.js';
import { Logger } from '../../../src/node/log.js';
import { ConsoleSession } from '../../../src/main/services/consoles.js';
import { createEventHub } from '../../../src/main/services/events.js';
import type { ConsoleItem } from '../../../src/shared/workstation/ipc-contract.js';
import type { SessionInfo } from '../../../src/shared/wire/protocol.js';

/** Stands in for the service connection: every run waits for the test to play the service's answers. */
class FakeConsoleClient extends EventEmitter<ConsoleEvents> {
  readonly role = 'advanced';
  readonly url = 'https://127.0.0.1:8443';
  readonly runs: {
    sessionId: string;
    line: string;
    handlers: CommandHandlers;
    end: (o: Omit<CommandOutcome, 'commandId'>) => void;
  }[] = [];
  readonly cancelled: string[] = [];
  readonly detached: string[] = [];
  closedSessions: string[] = [];
  closed = false;

  run(
    sessionId: string,
    line: string,
    handlers: CommandHandlers = {},
  ): { outcome: Promise<CommandOutcome>; commandId(): string | undefined } {
    let id: string | undefined;
    const outcome = new Promise<CommandOutcome>((resolve) => {
      this.runs.push({
        sessionId,
        line,
        handlers: {
          ...handlers,
          onStarted: (f) => {
            id = f.commandId;
            handlers.onStarted?.(f);
          },
        },
        end: (o) => resolve({ commandId: id ?? '?', ...o }),
      });
    });
    return { outcome, commandId: () => id };
  }
  cancel(commandId: string): void {
    this.cancelled.push(commandId);
  }
  detach(commandId: string): void {
    this.detached.push(commandId);
  }
  closeSession(sessionId: string): void {
    this.closedSessions.push(sessionId);
    queueMicrotask(() => this.emit('sessionClosed', sessionId, 'closed by advanced'));
  }
  pause(): void {}
  resume(): void {}
  close(): void {
    this.closed = true;
  }
}

const INFO: SessionInfo = {
  id: 'sess1',
  deviceId: 'dev1',
  deviceName: 'host1',
  platform: 'linux',
  createdBy: 'alice',
  startedAt: '2026-12-05T10:00:00Z',
  cwd: '/',
};

let dir: string;
let client: FakeConsoleClient;
let session: ConsoleSession;
let shown: ConsoleItem[];
let gone: ConsoleSession[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lr-console-session-'));
  client = new FakeConsoleClient();
  const events = createEventHub();
  shown = [];
  gone = [];
  events.subscribe((event) => {
    if (event.type === 'console.output' && event.sessionId === INFO.id) {
      shown.push(...event.items);
      session.ack(event.weight); // the renderer keeps up
    }
  });
  session = new ConsoleSession(
    INFO,
    client as unknown as ConsoleClient,
    { downloads: dir, saved: dir },
    events,
    new Logger('test', 'off'),
    (s) => gone.push(s),
  );
});

afterEach(() => {
  session.ended('test over');
  rmSync(dir, { recursive: true, force: true });
});

/** Output leaves in batches after ~16 ms: wait for them, and for the run's promise chain. */
async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 40));
}

function started(commandId: string, name: string): void {
  (client.runs.at(-1) as FakeConsoleClient['runs'][number]).handlers.onStarted?.({
    t: 'command.started',
    commandId,
    name,
    background: false,
  });
}

describe('ConsoleSession', () => {
  it('a command line runs on its session: started, output and end reach the console in order, the folder follows cd', async () => {
    session.run('cd /tmp');
    expect(client.runs.map((r) => [r.sessionId, r.line])).toEqual([['sess1', 'cd /tmp']]);
    started('c1', 'cd');
    client.runs[0]?.end({ status: 'completed', durationMs: 3, cwd: '/tmp', background: false });
    await settle();
    session.run('processes');
    started('c2', 'processes');
    client.runs[1]?.handlers.onRecords?.([{ pid: 1, name: 'init' }]);
    client.runs[1]?.end({ status: 'completed', durationMs: 5, background: false });
    await settle();
    expect(shown.map((i) => i.type)).toEqual(['started', 'end', 'started', 'records', 'end']);
    expect(shown[3]).toEqual({ type: 'records', records: [{ pid: 1, name: 'init' }] });
    expect(session.cwd).toBe('/tmp');
  });

  it('refuses a second line while one runs', () => {
    session.run('processes');
    expect(() => session.run('dir')).toThrow(
      'a command is running: Ctrl+C cancels it, Ctrl+Z sends it to the background',
    );
  });

  it('Ctrl+C before the service named the command is sent as soon as it does', async () => {
    session.run('processes');
    expect(session.cancel()).toBe(true);
    expect(client.cancelled).toEqual([]);
    started('c1', 'processes');
    expect(client.cancelled).toEqual(['c1']);
    client.runs[0]?.end({ status: 'cancelled', durationMs: 1, background: false });
    await settle();
    expect(shown.at(-1)).toMatchObject({ type: 'end', status: 'cancelled' });
  });

  it('Ctrl+C while the device is offline ends the command here at once; what the device sends later is not shown', async () => {
    session.run('processes');
    started('c1', 'processes');
    client.emit('deviceState', 'dev1', false);
    expect(session.detach()).toBe(false); // Ctrl+Z refused: nothing runs on the device
    expect(session.cancel()).toBe(true);
    expect(client.cancelled).toEqual(['c1']);
    client.runs[0]?.handlers.onText?.('late output\n');
    await settle();
    const types = shown.map((i) => i.type);
    expect(types).toEqual(['started', 'device', 'notice', 'notice', 'end']);
    expect(shown.at(-1)).toMatchObject({ type: 'end', status: 'cancelled' });
    expect(shown.some((i) => i.type === 'text')).toBe(false);
  });

  it('the service closing the session ends it: a closed item, the client closed, no more commands', async () => {
    client.emit('sessionClosed', 'sess1', 'idle timeout');
    await settle();
    expect(shown.at(-1)).toEqual({ type: 'closed', reason: 'idle timeout' });
    expect(client.closed).toBe(true);
    expect(gone).toEqual([session]);
    expect(() => session.run('dir')).toThrow('this session is closed: open a new one');
  });

  it("the analyst's disconnect asks the service and says so plainly", async () => {
    expect(await session.close()).toBe(true);
    expect(client.closedSessions).toEqual(['sess1']);
    await settle();
    expect(shown.at(-1)).toEqual({ type: 'closed', reason: 'disconnected by the analyst' });
  });
});
