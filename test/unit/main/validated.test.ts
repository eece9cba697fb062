/**
 * The validated wrapper decides, before any handler runs, whether a call is allowed: these tests use spy
 * handlers to show that a refused call (unknown channel, untrusted sender, bad payload) never reaches one.
 */
import { describe, expect, it, vi } from 'vitest';
import { ipcChannels, ipcContract } from '../../../src/shared/workstation/ipc-contract.js';
import { createValidatedDispatcher, createValidatedHandlers } from '../../../src/main/ipc/validated.js';
import { createServices } from '../../../src/main/services/index.js';

interface FakeSender {
  trusted: boolean;
}
const policy = { isTrusted: (sender: FakeSender) => sender.trusted };
const trusted: FakeSender = { trusted: true };

function dispatcherWithSpy() {
  const dispatcher = createValidatedDispatcher(policy);
  const echo = vi.fn(({ text }: { text: string }) => ({ text, handled: 1 }));
  dispatcher.handle('lr:app.echo', echo);
  return { dispatcher, echo };
}

describe('createValidatedDispatcher', () => {
  it('runs the handler with the parsed payload when channel, sender and payload are fine', async () => {
    const { dispatcher, echo } = dispatcherWithSpy();
    await expect(dispatcher.dispatch('lr:app.echo', { text: 'hi' }, trusted)).resolves.toEqual({
      ok: true,
      result: { text: 'hi', handled: 1 },
    });
    expect(echo).toHaveBeenCalledExactlyOnceWith({ text: 'hi' }, { signal: expect.any(AbortSignal) });
  });

  it('refuses a payload that does not match the schema, with a one-line message, without running the handler', async () => {
    const { dispatcher, echo } = dispatcherWithSpy();
    const result = await dispatcher.dispatch('lr:app.echo', { text: 42 }, trusted);
    expect(result).toEqual({
      ok: false,
      error: {
        code: 'invalid-payload',
        message: 'lr:app.echo: invalid payload: text: expected string, received number',
      },
    });
    expect(echo).not.toHaveBeenCalled();
  });

  it.each([
    ['missing field', {}, 'text: expected string, received undefined'],
    ['extra field', { text: 'a', admin: true }, '(payload): unrecognized key: "admin"'],
    ['not an object', 'text', '(payload): expected object, received string'],
    ['null', null, '(payload): expected object, received null'],
    ['too long', { text: 'x'.repeat(10_001) }, 'text: too big: expected string to have <=10000 characters'],
  ])('refuses %s', async (_name, payload, detail) => {
    const { dispatcher, echo } = dispatcherWithSpy();
    const result = await dispatcher.dispatch('lr:app.echo', payload, trusted);
    expect(result).toEqual({
      ok: false,
      error: { code: 'invalid-payload', message: `lr:app.echo: invalid payload: ${detail}` },
    });
    expect(echo).not.toHaveBeenCalled();
  });

  it('refuses an unknown channel without running anything', async () => {
    const { dispatcher, echo } = dispatcherWithSpy();
    expect(await dispatcher.dispatch('lr:app.shell', { text: 'x' }, trusted)).toEqual({
      ok: false,
      error: { code: 'unknown-channel', message: 'lr:app.shell: unknown channel' },
    });
    expect(await dispatcher.dispatch(42, {}, trusted)).toEqual({
      ok: false,
      error: { code: 'unknown-channel', message: '(number channel): unknown channel' },
    });
    // Inherited object keys are not channels.
    expect((await dispatcher.dispatch('toString', {}, trusted)).ok).toBe(false);
    expect(echo).not.toHaveBeenCalled();
  });

  it('refuses an untrusted sender before even looking at the payload', async () => {
    const { dispatcher, echo } = dispatcherWithSpy();
    expect(await dispatcher.dispatch('lr:app.echo', { text: 'x' }, { trusted: false })).toEqual({
      ok: false,
      error: { code: 'untrusted-sender', message: 'lr:app.echo: sender not trusted' },
    });
    expect(echo).not.toHaveBeenCalled();
  });

  it('treats a sender check that throws as untrusted', async () => {
    const dispatcher = createValidatedDispatcher<FakeSender>({
      isTrusted: () => {
        throw new Error('Render frame was disposed');
      },
    });
    const echo = vi.fn(() => ({ text: '', handled: 0 }));
    dispatcher.handle('lr:app.echo', echo);
    expect((await dispatcher.dispatch('lr:app.echo', { text: 'x' }, trusted)).ok).toBe(false);
    expect(echo).not.toHaveBeenCalled();
  });

  it('turns a throwing handler into a one-line handler-failed error', async () => {
    const dispatcher = createValidatedDispatcher(policy);
    dispatcher.handle('lr:app.echo', () => {
      throw new Error('disk full\n    at somewhere (file.ts:1:1)');
    });
    expect(await dispatcher.dispatch('lr:app.echo', { text: 'x' }, trusted)).toEqual({
      ok: false,
      error: { code: 'handler-failed', message: 'lr:app.echo: disk full' },
    });
  });

  it('refuses an answer that does not match the response schema, in one line', async () => {
    const dispatcher = createValidatedDispatcher(policy);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    // A handler that drifted from the contract: `handled` became a string.
    dispatcher.handle(
      'lr:app.echo',
      ({ text }) => ({ text, handled: 'once' }) as unknown as { text: string; handled: number },
    );
    const expected = {
      code: 'invalid-response',
      message: 'lr:app.echo: invalid response: handled: expected number, received string',
    };
    expect(await dispatcher.dispatch('lr:app.echo', { text: 'x' }, trusted)).toEqual({ ok: false, error: expected });
    expect(errors).toHaveBeenCalledExactlyOnceWith(expected.message);
    errors.mockRestore();
  });

  it('checks a nested answer against the schemas the renderer relies on', async () => {
    const dispatcher = createValidatedDispatcher(policy);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const caseView = {
      id: 'c1',
      title: 'Intrusion',
      status: 'open',
      createdAt: '2026-12-05T18:00:00Z',
      updatedAt: '2026-12-05T18:00:00Z',
      active: true,
      counts: { notes: 0, evidence: 0, transcripts: 0 },
    };
    dispatcher.handle('lr:cases.list', () => [caseView, { ...caseView, status: 'archived' }] as never);
    const outcome = await dispatcher.dispatch('lr:cases.list', {}, trusted);
    expect(outcome).toEqual({
      ok: false,
      error: {
        code: 'invalid-response',
        message: 'lr:cases.list: invalid response: 1.status: invalid option: expected one of "open"|"closed"',
      },
    });
    vi.restoreAllMocks();
  });

  it("sends the handler's own answer once it checks, without reshaping it", async () => {
    const dispatcher = createValidatedDispatcher(policy);
    const answer = { text: 'x', handled: 3 };
    dispatcher.handle('lr:app.echo', () => answer);
    const outcome = await dispatcher.dispatch('lr:app.echo', { text: 'x' }, trusted);
    expect(outcome.ok && outcome.result).toBe(answer);
  });

  it('reports a contract channel without a handler', async () => {
    const dispatcher = createValidatedDispatcher(policy);
    expect(await dispatcher.dispatch('lr:app.info', {}, trusted)).toEqual({
      ok: false,
      error: { code: 'unknown-channel', message: 'lr:app.info: no handler registered' },
    });
  });

  it('refuses to register a handler twice or for a channel outside the contract', () => {
    const { dispatcher } = dispatcherWithSpy();
    expect(() => dispatcher.handle('lr:app.echo', () => ({ text: '', handled: 0 }))).toThrow('already registered');
    // @ts-expect-error: not a contract channel
    expect(() => dispatcher.handle('lr:nope', () => ({}))).toThrow('not in the IPC contract');
  });
});

describe('createValidatedHandlers', () => {
  const services = createServices({ version: '1.2.3', mode: 'browser-shell', platform: 'linux' });
  const dispatcher = createValidatedHandlers(services, policy);

  it('accepts a valid sample of every contract channel; the app channels answer without a service', async () => {
    const sid = 'abc123';
    const samples = {
      'lr:app.info': {},
      'lr:app.echo': { text: 'sample' },
      'lr:workspace.status': {},
      'lr:workspace.connect': { profilePath: '/nonexistent/profile.json' },
      'lr:workspace.standalone': {},
      'lr:devices.list': {},
      'lr:sessions.open': { device: 'host' },
      'lr:sessions.list': {},
      'lr:sessions.close': { sessionId: sid },
      'lr:sessions.run': { sessionId: sid, line: 'dir' },
      'lr:sessions.cancel': { sessionId: sid },
      'lr:sessions.detach': { sessionId: sid },
      'lr:sessions.ack': { sessionId: sid, chars: 5000 },
      'lr:sessions.complete': { sessionId: sid, line: 'di', cursor: 2 },
      'lr:log.query': { text: 'dir', offset: 0, limit: 50 },
      'lr:log.get': { id: 'c1' },
      'lr:log.facets': {},
      'lr:log.export': { format: 'csv', filter: {} },
      'lr:library.list': {},
      'lr:library.uploadBegin': { name: 'a.sh', size: 3 },
      'lr:library.uploadChunk': { uploadId: 'u1', offset: 0, data: 'YWJj' },
      'lr:library.uploadEnd': { uploadId: 'u1' },
      'lr:library.uploadAbort': { uploadId: 'u1' },
      'lr:library.delete': { name: 'a.sh' },
      'lr:prefs.get': {},
      'lr:prefs.set': { timeZone: 'America/New_York' },
      'lr:tenant.get': {},
      'lr:tenant.update': { liveResponse: false, limits: { idleTimeoutSec: 900 } },
      'lr:installers.view': {},
      'lr:installers.make': { os: 'linux' },
      'lr:cases.list': {},
      'lr:cases.create': { title: 'Phishing on host-1' },
      'lr:cases.update': { id: 'case1', status: 'closed' },
      'lr:cases.activate': { id: 'case1' },
      'lr:cases.notes': { caseId: 'case1' },
      'lr:cases.transcripts': { caseId: 'case1' },
      'lr:cases.evidence': { caseId: 'case1' },
      'lr:cases.export': { id: 'case1' },
      'lr:cases.importBegin': { name: 'case.zip', size: 100 },
      'lr:cases.importChunk': { uploadId: 'u1', offset: 0, data: 'YWJj' },
      'lr:cases.importEnd': { uploadId: 'u1' },
      'lr:cases.importAbort': { uploadId: 'u1' },
      'lr:notes.create': { caseId: 'case1', title: 'first', body: '# hello' },
      'lr:notes.save': { id: 'n1', title: 'first', body: '# hello', commandId: null },
      'lr:notes.delete': { id: 'n1' },
      'lr:transcripts.get': { id: 't1' },
      'lr:transcripts.byCommand': { commandId: 'c1' },
      'lr:evidence.get': { id: 'e1' },
      'lr:evidence.preview': { id: 'e1', mode: 'hex', offset: 0, length: 4096 },
      'lr:evidence.verify': { id: 'e1' },
      'lr:search': { text: 'mimikatz' },
      'lr:devices.groups': {},
      'lr:batches.create': {
        commands: ['processes -name sleep'],
        target: { devices: ['d1', 'd2'] },
        concurrency: 5,
        expiresInSec: 3600,
        comment: 'triage',
      },
      'lr:batches.list': {},
      'lr:batches.get': { id: 'b1' },
      'lr:batches.cancel': { id: 'b1' },
      'lr:batches.results': { id: 'b1', device: 'd1' },
      'lr:batches.export': { id: 'b1', format: 'csv' },
      'lr:batches.saveToCase': { id: 'b1' },
      'lr:batches.complete': { line: 'proc', cursor: 4 },
      'lr:calls.cancel': { callId: 'call-0001' },
    } satisfies Record<(typeof ipcChannels)[number], unknown>;
    for (const channel of ipcChannels) {
      const outcome = await dispatcher.dispatch(channel, samples[channel], trusted);
      if (
        channel === 'lr:app.info' ||
        channel === 'lr:app.echo' ||
        channel === 'lr:workspace.status' ||
        channel === 'lr:sessions.list' ||
        channel === 'lr:calls.cancel'
      ) {
        if (!outcome.ok) throw new Error(outcome.error.message);
        expect(ipcContract[channel].response.safeParse(outcome.result).success, channel).toBe(true);
      } else if (!outcome.ok) {
        // No service in this test: the handler runs and fails in one line, the payload itself was fine.
        expect(outcome.error.code, `${channel}: ${outcome.error.message}`).toBe('handler-failed');
        expect(outcome.error.message).not.toContain('\n');
      }
    }
  });

  it('reports the host it was given', async () => {
    expect(await dispatcher.dispatch('lr:app.info', {}, trusted)).toEqual({
      ok: true,
      result: { version: '1.2.3', mode: 'browser-shell', platform: 'linux' },
    });
  });

  it('counts only the echo calls that reached the service', async () => {
    const before = services.echo.handledCount();
    await dispatcher.dispatch('lr:app.echo', { text: 42 }, trusted);
    await dispatcher.dispatch('lr:app.echo', { text: 'x' }, { trusted: false });
    expect(services.echo.handledCount()).toBe(before);
    await dispatcher.dispatch('lr:app.echo', { text: 'x' }, trusted);
    expect(services.echo.handledCount()).toBe(before + 1);
  });
});

describe('the batch channels', () => {
  it('describe their answers with the batch contract itself, not an unchecked type', () => {
    const target = {
      deviceId: 'd1',
      deviceName: 'web-1',
      status: 'completed',
      rows: 2,
      steps: [{ index: 0, line: 'processes', status: 'completed', rows: 2, textBytes: 0, truncated: false }],
    };
    const counts = { queued: 0, running: 0, completed: 1, failed: 0, refused: 0, cancelled: 0, 'offline-expired': 0 };
    const record = {
      id: 'b1',
      kind: 'batch',
      status: 'completed',
      createdBy: 'alice',
      createdAt: '2026-12-05T18:00:00Z',
      commands: ['processes'],
      target: { devices: ['web-1'] },
      concurrency: 10,
      expiresAt: '2026-12-08T18:00:00Z',
      counts,
      targets: [target],
    };
    for (const channel of ['lr:batches.create', 'lr:batches.get', 'lr:batches.cancel'] as const) {
      expect(ipcContract[channel].response.safeParse(record).success, channel).toBe(true);
      expect(ipcContract[channel].response.safeParse({ ...record, status: 'exploded' }).success, channel).toBe(false);
      expect(ipcContract[channel].response.safeParse({}).success, channel).toBe(false);
    }
    expect(
      ipcContract['lr:batches.results'].response.safeParse({
        batchId: 'b1',
        columns: ['device'],
        rows: [{ device: 'web-1' }],
        truncated: [],
        files: [],
      }).success,
    ).toBe(true);
    expect(ipcContract['lr:batches.results'].response.safeParse({ batchId: 'b1', rows: 'x' }).success).toBe(false);
    expect(
      ipcContract['lr:batches.saveToCase'].response.safeParse({
        caseId: 'c1',
        caseTitle: 't',
        added: true,
        evidence: [{ id: 'e1', name: 'n', sha256: 'ab' }],
      }).success,
    ).toBe(false);
  });

  it('refuse a malformed batch before main runs anything: no devices, a concurrency out of range, an unknown field', () => {
    const create = ipcContract['lr:batches.create'].request;
    expect(create.safeParse({ commands: ['processes'], target: { devices: ['d1'] } }).success).toBe(true);
    expect(create.safeParse({ commands: ['processes'], target: {} }).success).toBe(false);
    expect(create.safeParse({ commands: ['processes'], target: { devices: ['d1'] }, concurrency: 0 }).success).toBe(
      false,
    );
    expect(create.safeParse({ commands: [], target: { devices: ['d1'] } }).success).toBe(false);
    expect(create.safeParse({ commands: ['processes'], target: { devices: ['d1'] }, user: 'admin' }).success).toBe(
      false,
    );
    expect(ipcContract['lr:batches.get'].request.safeParse({ id: '../../etc' }).success).toBe(false);
  });
});
