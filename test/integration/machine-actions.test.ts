// The vendor-shaped `runliveresponse` against a real service and real agents.
// PutFile + RunScript + GetFile polled to Succeeded, the GetFile result downloaded through its single-use
// link (SHA-256 equal to the device's file, refused the second time); the 11th call in a minute gets 429
// with Retry-After; an offline machine's action stays Pending and runs when its agent starts; a failing
// RunScript leaves the GetFile after it not run and says why; a basic user cannot RunScript (403).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorld, enrollAgent, start, waitFor, type World } from './harness.js';
import { api, profileOf, vendorCommand as cmd, type ApiAnswer } from './api-helpers.js';
import type { Profile } from '../../src/node/profile.js';
import type { MachineAction } from '../../src/server/batch/machine-actions.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('machine actions (vendor-compatible runliveresponse)', () => {
  let w: World;
  let admin: Profile;
  let files: string;
  let work: string;
  beforeAll(async () => {
    w = await createWorld();
    admin = profileOf(w.adminProfile);
    files = mkdtempSync(join(tmpdir(), 'lr-ma-files-'));
    work = mkdtempSync(join(tmpdir(), 'lr-ma-work-'));
    await w.addAgent('alpha');
    expect((await w.lr(['settings', 'set', 'unsignedScripts', 'on'])).code).toBe(0);
    const upload = async (name: string, content: string | Buffer) => {
      writeFileSync(join(files, name), content);
      const r = await w.lr(['library', 'upload', join(files, name), '--overwrite']);
      expect(r.code, r.stderr).toBe(0);
    };
    // The script writes fresh random bytes to the path it is given: the file exists only on the device.
    await upload('mkfile.sh', '#!/bin/bash\nhead -c 300000 /dev/urandom > "$1"\necho "wrote $1"\n');
    await upload('fail.sh', '#!/bin/bash\necho "about to fail"\nexit 3\n');
    await upload('tool.bin', randomBytes(5000));
  }, 90_000);
  afterAll(async () => w?.cleanup());

  const runLiveResponse = (p: Profile, machine: string, body: unknown) =>
    api(p, 'POST', `/api/v1/machines/${machine}/runliveresponse`, body);
  const action = async (p: Profile, id: string) =>
    (await api(p, 'GET', `/api/v1/machineactions/${id}`)).json as MachineAction;
  const final = (p: Profile, id: string, timeoutMs = 30_000) =>
    waitFor(
      `machine action ${id} final`,
      async () => {
        const a = await action(p, id);
        return a.status !== 'Pending' && a.status !== 'InProgress' ? a : undefined;
      },
      timeoutMs,
      1000,
    ); // 1 s: the vendor's clients poll; and the reads are limited too
  const link = async (p: Profile, id: string, index: number): Promise<string> => {
    const r = await api(p, 'GET', `/api/v1/machineactions/${id}/GetLiveResponseResultDownloadLink(index=${index})`);
    expect(r.status, r.bytes.toString()).toBe(200);
    return (r.json as { value: string }).value;
  };

  it("PutFile + RunScript + GetFile: polled to Succeeded, the file through a single-use link with the device file's SHA-256", async () => {
    const target = join(work, 'évidence-文件.bin'); // a name a header cannot hold as is
    const r = await runLiveResponse(admin, 'alpha', {
      Commands: [cmd.putFile('tool.bin'), cmd.runScript('mkfile.sh', target), cmd.getFile(target)],
      Comment: 'acceptance 3',
    });
    expect(r.status, r.bytes.toString()).toBe(201);
    const created = r.json as MachineAction;
    expect(created).toMatchObject({
      type: 'LiveResponse',
      requestor: 'admin',
      requestorComment: 'acceptance 3',
      machineId: expect.any(String),
      computerDnsName: expect.any(String),
    });
    expect(['Pending', 'InProgress']).toContain(created.status);
    expect(created.commands.map((c) => c.command)).toEqual([
      cmd.putFile('tool.bin'),
      cmd.runScript('mkfile.sh', target),
      cmd.getFile(target),
    ]);

    const done = await final(admin, created.id);
    expect(done.status, JSON.stringify(done)).toBe('Succeeded');
    expect(done.commands.map((c) => [c.index, c.commandStatus, c.errors])).toEqual([
      [0, 'Completed', []],
      [1, 'Completed', []],
      [2, 'Completed', []],
    ]);
    for (const c of done.commands)
      expect(Date.parse(c.endTime as string)).toBeGreaterThanOrEqual(Date.parse(c.startTime as string));

    // The GetFile result through its link: no API token, the device file's bytes.
    const fileLink = await link(admin, created.id, 2);
    expect(fileLink).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:${w.port}/api/v1/results/[A-Za-z0-9_-]{43}$`));
    const got = await api(admin, 'GET', fileLink, undefined, null);
    expect(got.status).toBe(200);
    const onDevice = readFileSync(target);
    expect(got.bytes.length).toBe(300000);
    expect(sha256(got.bytes)).toBe(sha256(onDevice));
    expect(got.headers['x-content-sha256']).toBe(sha256(onDevice));
    expect(got.headers['content-disposition']).toBe(
      `attachment; filename="_vidence-__.bin"; filename*=UTF-8''${encodeURIComponent('évidence-文件.bin')}`,
    );
    // Single use.
    const again = await api(admin, 'GET', fileLink, undefined, null);
    expect(again.status).toBe(410);
    expect(again.json).toEqual({ error: 'this result link was already used: links serve once (ask for a new one)' });
    expect((await api(admin, 'GET', `${fileLink.slice(0, -4)}AAAA`, undefined, null)).status).toBe(404);

    // RunScript: the vendor's result JSON; PutFile: the putfile record.
    const script = await api(admin, 'GET', await link(admin, created.id, 1), undefined, null);
    expect(script.json).toEqual({
      script_name: 'mkfile.sh',
      exit_code: 0,
      script_output: `wrote ${target}\n`,
      script_errors: '',
    });
    const put = await api(admin, 'GET', await link(admin, created.id, 0), undefined, null);
    expect(put.json).toMatchObject({
      name: 'tool.bin',
      size: 5000,
      sha256: sha256(readFileSync(join(files, 'tool.bin'))),
    });

    // The list shows it, newest first.
    const list = (await api(admin, 'GET', '/api/v1/machineactions?$top=5')).json as { value: MachineAction[] };
    expect(list.value[0]?.id).toBe(created.id);
  }, 90_000);

  it('a failing RunScript fails the action and leaves the GetFile after it not run, saying why', async () => {
    const r = await runLiveResponse(admin, 'alpha', {
      Commands: [cmd.runScript('fail.sh'), cmd.getFile('/etc/hostname')],
    });
    expect(r.status, r.bytes.toString()).toBe(201);
    const done = await final(admin, (r.json as MachineAction).id);
    expect(done.status).toBe('Failed');
    expect(done.commands.map((c) => [c.commandStatus, c.errors])).toEqual([
      ['Failed', ['run: fail.sh exited with code 3']],
      ['Created', ['not run: command 0 (RunScript) failed']],
    ]);
    expect(done.commands[1]?.startTime).toBeNull();
    expect(done.errors).toEqual(['command 0 (RunScript) failed: run: fail.sh exited with code 3']);
    // The failed script's output and exit code are still there; the GetFile that did not run has no result.
    const script = await api(admin, 'GET', await link(admin, done.id, 0), undefined, null);
    expect(script.json).toEqual({
      script_name: 'fail.sh',
      exit_code: 3,
      script_output: 'about to fail\n',
      script_errors: 'run: fail.sh exited with code 3',
    });
    const none = await api(
      admin,
      'GET',
      `/api/v1/machineactions/${done.id}/GetLiveResponseResultDownloadLink(index=1)`,
    );
    expect(none.status).toBe(400);
    expect(none.json).toEqual({
      error: {
        code: 'InvalidInput',
        message: 'command 1 (GetFile) has no result: not run: command 0 (RunScript) failed',
      },
    });

    // A script that is not in the library: refused, and the rest not run.
    const missing = await runLiveResponse(admin, 'alpha', {
      Commands: [cmd.runScript('nosuch.sh'), cmd.getFile('/etc/hostname')],
    });
    const m = await final(admin, (missing.json as MachineAction).id);
    expect(m.status).toBe('Failed');
    expect(m.commands.map((c) => [c.commandStatus, c.errors])).toEqual([
      ['Failed', ['run: no library file nosuch.sh']],
      ['Created', ['not run: command 0 (RunScript) refused']],
    ]);
    expect(m.errors).toEqual(['command 0 (RunScript) refused: run: no library file nosuch.sh']);
  }, 60_000);

  it("an offline machine's action stays Pending (one action per machine) and runs when its agent starts", async () => {
    const carol = profileOf(await w.addUser('carol', 'advanced'));
    const delta = await enrollAgent(w, 'delta');
    const r = await runLiveResponse(carol, 'delta', { Commands: [cmd.getFile('/etc/hostname')], Comment: 'offline' });
    expect(r.status, r.bytes.toString()).toBe(201);
    const id = (r.json as MachineAction).id;
    await new Promise((res) => setTimeout(res, 1500));
    const pending = await action(carol, id);
    expect(pending).toMatchObject({ status: 'Pending', machineId: delta.deviceId });
    expect(pending.commands[0]).toMatchObject({ commandStatus: 'Created', startTime: null });
    // The vendor's one action per machine: a second call while this one is pending is refused.
    const second = await runLiveResponse(carol, delta.deviceId, { Commands: [cmd.getFile('/etc/hostname')] });
    expect(second.status).toBe(400);
    expect(second.json).toEqual({
      error: {
        code: 'ActiveRequestAlreadyExists',
        message: `delta already has an action pending or in progress (${id}): wait for it or cancel it`,
      },
    });

    const agent = await start('lr-agent', ['start', '--data', delta.dataDir], /started/, {
      XDG_STATE_HOME: join(w.dir, 'state'),
      LR_LOG_LEVEL: 'warn',
    });
    w.agents.push(agent);
    const done = await final(carol, id);
    expect(done.status).toBe('Succeeded');
    const got = await api(carol, 'GET', await link(carol, id, 0), undefined, null);
    expect(sha256(got.bytes)).toBe(sha256(readFileSync('/etc/hostname')));
  }, 60_000);

  it('a queued action survives a service restart and runs when its machine comes online', async () => {
    const echo = await enrollAgent(w, 'echo');
    const r = await runLiveResponse(admin, 'echo', { Commands: [cmd.getFile('/etc/hostname')] });
    expect(r.status, r.bytes.toString()).toBe(201);
    const id = (r.json as MachineAction).id;
    await w.stopServer();
    await w.startServer();
    expect(await action(admin, id)).toMatchObject({ status: 'Pending', machineId: echo.deviceId });
    w.agents.push(
      await start('lr-agent', ['start', '--data', echo.dataDir], /started/, {
        XDG_STATE_HOME: join(w.dir, 'state'),
        LR_LOG_LEVEL: 'warn',
      }),
    );
    expect((await final(admin, id)).status).toBe('Succeeded');
  }, 60_000);

  it('a basic user cannot RunScript or PutFile (403, nothing started) but may GetFile', async () => {
    const basic = profileOf(await w.addUser('bea', 'basic'));
    for (const c of [cmd.runScript('mkfile.sh', '/tmp/x'), cmd.putFile('tool.bin')]) {
      const r = await runLiveResponse(basic, 'alpha', { Commands: [cmd.getFile('/etc/hostname'), c] });
      expect(r.status).toBe(403);
      expect((r.json as { error: { code: string; message: string } }).error.code).toBe('Forbidden');
      expect((r.json as { error: { message: string } }).error.message).toMatch(
        /^(run|putfile): refused: needs the advanced role \(you are basic\); nothing was started$/,
      );
    }
    const ok = await runLiveResponse(basic, 'alpha', { Commands: [cmd.getFile('/etc/hostname')] });
    expect(ok.status, ok.bytes.toString()).toBe(201);
    expect((await final(basic, (ok.json as MachineAction).id)).status).toBe('Succeeded');
  }, 60_000);

  it('refuses bad bodies with one line naming the field, in the vendor error shape', async () => {
    const dave = profileOf(await w.addUser('dave', 'advanced'));
    const bad = await runLiveResponse(dave, 'alpha', {
      Commands: [{ type: 'RunScript', params: [{ key: 'Args', value: 'x' }] }],
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({
      error: {
        code: 'BadRequest',
        message: 'invalid request: Commands.0.params: RunScript needs the ScriptName parameter',
      },
    });
    const unknown = await runLiveResponse(dave, 'no-such-machine', { Commands: [cmd.getFile('/x')] });
    expect(unknown.status).toBe(404);
    expect((unknown.json as { error: { code: string } }).error.code).toBe('ResourceNotFound');
  });

  it('the 11th call in a minute with one API token gets 429 with Retry-After; another token is not slowed', async () => {
    const erin = profileOf(await w.addUser('erin', 'advanced'));
    const answers: ApiAnswer[] = [];
    // Calls count whatever their answer (these are refused bodies: nothing starts on the device).
    for (let i = 0; i < 11; i++) answers.push(await runLiveResponse(erin, 'alpha', { Commands: [] }));
    expect(answers.slice(0, 10).map((a) => a.status)).toEqual(Array(10).fill(400));
    const limited = answers[10] as ApiAnswer;
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(50);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.json).toEqual({
      error: {
        code: 'TooManyRequests',
        message: `too many calls: at most 10 calls starting work per minute per API token; retry in ${retryAfter} s`,
      },
    });
    // POST /api/v1/batches draws on the same budget (our error shape there).
    const batch = await api(erin, 'POST', '/api/v1/batches', {
      commands: ['processes'],
      target: { devices: ['alpha'] },
    });
    expect(batch.status).toBe(429);
    expect(batch.headers['retry-after']).toBeDefined();
    // Reads have their own budget, and another token its own.
    expect((await api(erin, 'GET', '/api/v1/machineactions?$top=1')).status).toBe(200);
    const frank = profileOf(await w.addUser('frank', 'advanced'));
    expect((await runLiveResponse(frank, 'alpha', { Commands: [] })).status).toBe(400);
  });
});
