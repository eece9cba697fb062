// Putfile and run through the whole pipeline (lr → service → agent, the agent
// fetching the file over HTTPS with a one-time token), parameters as argv, the reference's forbidden
// characters, exit codes, cancel and time limit killing the whole process tree, and script signing:
// unsigned scripts only when the tenant allows them, and a script changed after signing refused by the
// agent itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorld, waitFor, type World } from './harness.js';
import { loadProfile, processesWith, rawRequest } from './library-helpers.js';
import { signScript } from '../../src/node/script-signature.js';
import { ConsoleClient } from '../../src/client/console-client.js';

type Rec = Record<string, unknown>;
interface ExecJson {
  commandId: string;
  status: string;
  error: string | null;
  records: Rec[];
  text: string;
}

describe('putfile and run', () => {
  let w: World;
  let agentDir: string;
  let files: string;
  let keys: string;
  beforeAll(async () => {
    w = await createWorld();
    files = mkdtempSync(join(tmpdir(), 'lr-run-files-'));
    keys = mkdtempSync(join(tmpdir(), 'lr-run-keys-'));
    agentDir = (await w.addAgent('romeo')).dataDir;
    expect((await w.lr(['keys', 'generate', '--out', keys, '--name', 'soc'])).code).toBe(0);
    expect((await w.lr(['publishers', 'add', 'soc', '--key', join(keys, 'soc.pub.pem')])).code).toBe(0);
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  /** Writes a script and uploads it, signed by the trusted publisher unless `signed` is false. */
  const upload = async (name: string, content: string, signed = true) => {
    const file = join(files, name);
    writeFileSync(file, content);
    const r = await w.lr([
      'library',
      'upload',
      file,
      '--overwrite',
      ...(signed ? ['--sign', join(keys, 'soc.key'), '--publisher', 'soc'] : []),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return file;
  };
  const execJson = async (line: string): Promise<ExecJson & { code: number | null }> => {
    const r = await w.lr(['exec', 'romeo', line, '--json']);
    return { ...(JSON.parse(r.stdout) as ExecJson), code: r.code };
  };
  const logEntry = async (commandId: string): Promise<Rec | undefined> => {
    const log = JSON.parse((await w.lr(['log', '--device', 'romeo', '--json'])).stdout) as Rec[];
    return log.find((e) => e.id === commandId);
  };

  it('puts a library file into the working folder, verified, and refuses to replace it without -overwrite', async () => {
    const file = await upload(
      'echo.sh',
      '#!/bin/bash\necho "argc=$#"\nfor a in "$@"; do echo "[$a]"; done\necho "to stderr" >&2\n',
    );
    const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
    const put = await execJson('putfile echo.sh');
    expect(put.status).toBe('completed');
    const target = join(agentDir, 'work', 'echo.sh');
    expect(put.records).toEqual([
      { name: 'echo.sh', path: target, size: readFileSync(file).length, sha256, keep: false },
    ]);
    expect(readFileSync(target)).toEqual(readFileSync(file));
    const manifest = JSON.parse(readFileSync(join(agentDir, 'work', '.manifest.json'), 'utf8')) as Record<
      string,
      { keep: boolean; bootId: string }
    >;
    expect(manifest['echo.sh']).toEqual({
      keep: false,
      bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    });

    const again = await w.lr(['exec', 'romeo', 'putfile echo.sh']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(
      'lr: putfile: echo.sh is already in the working folder (add -overwrite to replace it)',
    );
    const kept = await execJson('putfile echo.sh -overwrite -keep');
    expect(kept.records[0]).toMatchObject({ name: 'echo.sh', keep: true });

    const missing = await w.lr(['exec', 'romeo', 'putfile nosuch.sh']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe('lr: putfile: no library file nosuch.sh');
  });

  it('runs a script with parameters as an argv array: output and exit code come back', async () => {
    const r = await w.lr(['exec', 'romeo', `run echo.sh -parameters "-n 'hello world' a>b"`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('argc=3\n[-n]\n[hello world]\n[a>b]\n');
    expect(r.stdout).toContain('to stderr');
    const j = await execJson('run echo.sh -parameters "-n hello world"');
    expect(j.status).toBe('completed');
    expect(j.text).toContain('argc=3\n[-n]\n[hello]\n[world]\n');
    expect(j.records).toEqual([
      expect.objectContaining({
        script: 'echo.sh',
        exitCode: 0,
        signal: null,
        stdoutBytes: 28,
        stderrBytes: 10,
        durationMs: expect.any(Number),
      }),
    ]);
    // The working-folder copy (put above) is used only while it is the library's file: changed on the
    // device, it is ignored and the script is fetched again.
    const workCopy = join(agentDir, 'work', 'echo.sh');
    writeFileSync(workCopy, '#!/bin/bash\necho "evil copy"\n');
    const fresh = await w.lr(['exec', 'romeo', 'run echo.sh']);
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).toContain('argc=0');
    expect(fresh.stdout).not.toContain('evil');
    // A python script, fetched fresh (not in the working folder).
    await upload('args.py', 'import sys\nprint("py", sys.argv[1:])\n');
    const py = await w.lr(['exec', 'romeo', `run args.py -parameters "x 'y z'"`]);
    expect(py.code).toBe(0);
    expect(py.stdout).toContain("py ['x', 'y z']");
  });

  it('refuses parameters holding ; & | ! $ (exit 2, logged as refused)', async () => {
    for (const params of ['a;b', 'x && y', 'a|b', '!x', '$HOME']) {
      const r = await w.lr(['exec', 'romeo', `run echo.sh -parameters "${params}"`]);
      expect(r.code, params).toBe(2);
      expect(r.stderr.trim()).toBe('lr: run: parameters may not contain ; & | ! $');
    }
    const log = JSON.parse((await w.lr(['log', '--device', 'romeo', '--json'])).stdout) as Rec[];
    expect(log).toContainEqual(
      expect.objectContaining({
        commandLine: 'run echo.sh -parameters "a;b"',
        status: 'refused',
        error: 'run: parameters may not contain ; & | ! $',
      }),
    );
    // A batch file's parameters are refused by the service too when cmd would read them as syntax.
    await upload('w.bat', '@echo off\r\necho %1\r\n');
    const bat = await w.lr(['exec', 'romeo', 'run w.bat -parameters a%PATH%']);
    expect(bat.code).toBe(2);
    expect(bat.stderr.trim()).toMatch(/^lr: run: parameters of a \.bat\/\.cmd script may not contain % \(/);
  });

  it('fails a script that exits 3, with the code in the error (exit 1)', async () => {
    await upload('three.sh', '#!/bin/bash\necho "about to fail"\nexit 3\n');
    const r = await w.lr(['exec', 'romeo', 'run three.sh']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('about to fail');
    expect(r.stderr.trim()).toBe('lr: run: three.sh exited with code 3');
    const j = await execJson('run three.sh');
    expect(j.records).toEqual([expect.objectContaining({ script: 'three.sh', exitCode: 3 })]);
    expect((await logEntry(j.commandId))?.status).toBe('failed');
  });

  it('cancelling a script that spawned children leaves no process behind', async () => {
    // Two background children in the script's group, one that left it (setsid), one that left it AND was
    // orphaned (setsid -f: re-parented to init). The marker makes them findable in /proc.
    const marker = `3000.${process.pid}${Date.now() % 100000}`;
    await upload(
      'tree.sh',
      '#!/bin/bash\nsleep "$1" &\nsleep "$1" &\nsetsid sleep "$1" &\nsetsid -f sleep "$1"\necho started\nwait\n',
    );
    const c = await ConsoleClient.connect(loadProfile(w.adminProfile));
    try {
      const s = await c.openSession('romeo');
      let text = '';
      const run = c.run(s.id, `run tree.sh -parameters ${marker}`, { onText: (t) => (text += t) });
      await waitFor('script started', async () => text.includes('started'));
      await waitFor(
        'all four sleeps',
        async () => processesWith(marker).filter((p) => p.cmdline.startsWith('sleep')).length === 4,
      );
      c.cancel(run.commandId() as string);
      const outcome = await run.outcome;
      expect(outcome.status).toBe('cancelled');
      expect(outcome.error).toBe('run: cancelled');
      // Nothing left, right when the command ends: the agent waits for the whole tree to die.
      expect(processesWith(marker)).toEqual([]);
      c.closeSession(s.id);
    } finally {
      c.close();
    }
  });

  it('refuses an unsigned script with the setting off and runs it with the setting on', async () => {
    await upload('unsigned.sh', '#!/bin/bash\necho "unsigned ran"\n', false);
    const off = await w.lr(['exec', 'romeo', 'run unsigned.sh']);
    expect(off.code).toBe(2);
    expect(off.stderr.trim()).toBe(
      'lr: run: unsigned.sh is not signed and unsigned scripts are not allowed on this tenant',
    );
    const on = await w.lr(['settings', 'set', 'unsignedScripts', 'on']);
    expect(on.stderr.trim()).toBe(
      'warning: Allowing the use of unsigned scripts may increase your exposure to threats.',
    );
    try {
      const r = await w.lr(['exec', 'romeo', 'run unsigned.sh']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('unsigned ran');
    } finally {
      await w.lr(['settings', 'set', 'unsignedScripts', 'off']);
    }
    expect((await w.lr(['exec', 'romeo', 'run unsigned.sh'])).code).toBe(2);
  });

  it('runs a signed script; the service refuses an upload whose signature does not match', async () => {
    await upload('signed.sh', '#!/bin/bash\necho "signed ran"\n');
    const list = JSON.parse((await w.lr(['library', 'list', '--json'])).stdout) as Rec[];
    expect(list.find((f) => f.name === 'signed.sh')).toMatchObject({ signature: 'signed', publisher: 'soc' });
    const r = await w.lr(['exec', 'romeo', 'run signed.sh']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('signed ran');
    // Signed with a key the publisher entry does not hold.
    expect((await w.lr(['keys', 'generate', '--out', keys, '--name', 'rogue'])).code).toBe(0);
    const file = join(files, 'rogue.sh');
    writeFileSync(file, 'echo rogue\n');
    const bad = await w.lr(['library', 'upload', file, '--sign', join(keys, 'rogue.key'), '--publisher', 'soc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      "lr: the signature of rogue.sh does not verify with publisher soc's key (signed a different file or name, or with another key)",
    );
  });

  it('putfile and an unsigned run refuse bytes that differ from the library (same size, shorter, longer), leaving nothing behind', async () => {
    const content = '#!/bin/bash\necho "library copy"\n';
    await upload('drift.sh', content, false);
    const stored = join(w.dataDir, 'library', 'drift.sh');
    const sha = createHash('sha256').update(content).digest('hex');
    const size = Buffer.byteLength(content);
    const workFiles = () => readdirSync(join(agentDir, 'work')).filter((f) => f.includes('drift'));
    // Same size, other bytes: only the SHA-256 tells (the service serves files as stored, without re-hashing).
    writeFileSync(stored, content.replace('library', 'tampered'.slice(0, 7)));
    expect(readFileSync(stored).length).toBe(size);
    const swapped = await execJson('putfile drift.sh');
    expect(swapped.status).toBe('failed');
    expect(swapped.error).toMatch(
      new RegExp(
        `^putfile: drift\\.sh: the downloaded file does not match the library \\(size ${size}, sha256 [0-9a-f]{64}; expected ${size}, ${sha}\\)$`,
      ),
    );
    // Shorter and longer: the announced length differs from the library's, refused before any byte.
    writeFileSync(stored, content.slice(0, 10));
    expect((await execJson('putfile drift.sh')).error).toBe(
      `putfile: the service announced 10 bytes for drift.sh, the library says ${size}`,
    );
    writeFileSync(stored, content + 'echo extra\n');
    expect((await execJson('putfile drift.sh')).error).toBe(
      `putfile: the service announced ${size + 11} bytes for drift.sh, the library says ${size}`,
    );
    expect(workFiles()).toEqual([]);

    await w.lr(['settings', 'set', 'unsignedScripts', 'on']);
    try {
      writeFileSync(stored, content.replace('library', 'tampered'.slice(0, 7)));
      const run = await execJson('run drift.sh');
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(
        new RegExp(
          `^run: drift\\.sh: the downloaded file does not match the library \\(sha256 [0-9a-f]{64}, expected ${sha}\\)$`,
        ),
      );
      expect(run.text).toBe('');
      writeFileSync(stored, content.slice(0, 10));
      expect((await execJson('run drift.sh')).error).toBe(
        `run: the service announced 10 bytes for drift.sh, the library says ${size}`,
      );
    } finally {
      await w.lr(['settings', 'set', 'unsignedScripts', 'off']);
      writeFileSync(stored, content);
    }
    expect(workFiles()).toEqual([]);
  });

  it('binds a signature to the name (and so the interpreter): the same bytes under another name are refused at upload', async () => {
    const bytes = Buffer.from('print("twin")\n');
    const digest = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
    const signature = signScript(readFileSync(join(keys, 'soc.key'), 'utf8'), { name: 'twin.py', ...digest });
    const put = (name: string) =>
      rawRequest(
        loadProfile(w.adminProfile),
        'PUT',
        `/api/v1/library/${name}?${new URLSearchParams({ signature, publisher: 'soc', overwrite: 'true' }).toString()}`,
        bytes,
        { 'content-type': 'application/octet-stream' },
      );
    // Same bytes, signed as a python script, uploaded to be run by bash: refused.
    const renamed = await put('twin.sh');
    expect(renamed.status).toBe(400);
    expect(renamed.body.error).toBe(
      "the signature of twin.sh does not verify with publisher soc's key (signed a different file or name, or with another key)",
    );
    const list = JSON.parse((await w.lr(['library', 'list', '--json'])).stdout) as Rec[];
    expect(list.find((f) => f.name === 'twin.sh')).toBeUndefined();
    // Under the name it was signed for, the same request is taken.
    expect((await put('twin.py')).status).toBe(201);
  });

  it('runs a signed ELF executable from the library with argv only, under the same signing policy as scripts', async () => {
    // A real ELF of this machine, copied (nothing compiled).
    const echo = join(files, 'lr-echo');
    copyFileSync('/bin/echo', echo);
    const up = await w.lr([
      'library',
      'upload',
      echo,
      '--overwrite',
      '--sign',
      join(keys, 'soc.key'),
      '--publisher',
      'soc',
    ]);
    expect(up.stderr).toBe('');
    const r = await w.lr(['exec', 'romeo', `run lr-echo -parameters "-n 'hello world' a>b"`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('hello world a>b');
    const j = await execJson('run lr-echo -parameters "x y"');
    expect(j.status).toBe('completed');
    expect(j.text).toBe('x y\n');
    expect(j.records).toEqual([
      expect.objectContaining({ script: 'lr-echo', exitCode: 0, signal: null, stdoutBytes: 4 }),
    ]);
    // The signature names the runner: the same bytes signed as an executable do not pass as a script.
    const digest = {
      sha256: createHash('sha256').update(readFileSync(echo)).digest('hex'),
      size: readFileSync(echo).length,
    };
    const signature = signScript(readFileSync(join(keys, 'soc.key'), 'utf8'), { name: 'lr-echo', ...digest });
    const asScript = await rawRequest(
      loadProfile(w.adminProfile),
      'PUT',
      `/api/v1/library/lr-echo.sh?${new URLSearchParams({ signature, publisher: 'soc' }).toString()}`,
      readFileSync(echo),
      { 'content-type': 'application/octet-stream' },
    );
    expect(asScript.status).toBe(400);
    // Unsigned: refused as an unsigned script is, before anything reaches the device.
    const unsigned = join(files, 'lr-true');
    copyFileSync('/usr/bin/true', unsigned);
    expect((await w.lr(['library', 'upload', unsigned, '--overwrite'])).code).toBe(0);
    const refused = await w.lr(['exec', 'romeo', 'run lr-true']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      'lr: run: lr-true is not signed and unsigned scripts are not allowed on this tenant',
    );
  });

  it('refuses, on the device, an executable that is not an ELF for this machine (even signed), running nothing', async () => {
    // A shebang script without an extension: exec would happily run it through /bin/sh.
    const marker = join(files, 'shebang-ran');
    await upload('notelf', `#!/bin/sh\ntouch ${marker}\n`);
    const shebang = await execJson('run notelf');
    expect(shebang.status).toBe('failed');
    expect(shebang.error).toBe('run: notelf is not an ELF executable: refused');
    expect(existsSync(marker)).toBe(false);
    // A real ELF for another processor (the machine number patched).
    const foreign = readFileSync('/usr/bin/true');
    const own = foreign.readUInt16LE(18);
    foreign.writeUInt16LE(own === 62 ? 183 : 62, 18);
    writeFileSync(join(files, 'foreign-true'), foreign);
    expect(
      (
        await w.lr([
          'library',
          'upload',
          join(files, 'foreign-true'),
          '--overwrite',
          '--sign',
          join(keys, 'soc.key'),
          '--publisher',
          'soc',
        ])
      ).code,
    ).toBe(0);
    const other = await execJson('run foreign-true');
    expect(other.status).toBe('failed');
    expect(other.error).toMatch(
      /^run: foreign-true is an ELF executable for another processor \(machine (62|183)\), this device is \w+: refused$/,
    );
    // A Windows executable.
    await upload('tool.exe', 'MZ\x90\x00windows');
    const exe = await execJson('run tool.exe');
    expect(exe.status).toBe('failed');
    expect(exe.error).toBe('run: tool.exe: a Windows executable cannot run on this linux device');
  });

  it('the log query filtered by status follows a command that finishes (no stale cached match)', async () => {
    await upload('nap.sh', '#!/bin/bash\nsleep 2\necho rested\n');
    const query = async (status: string) => {
      const r = await rawRequest(loadProfile(w.adminProfile), 'GET', `/api/v1/log/query?status=${status}&limit=50`);
      expect(r.status).toBe(200);
      return (r.body.items as Rec[]).map((e) => e.id);
    };
    const c = await ConsoleClient.connect(loadProfile(w.adminProfile));
    try {
      const s = await c.openSession('romeo');
      const run = c.run(s.id, 'run nap.sh');
      await waitFor(
        'run started',
        async () => run.commandId() !== undefined && (await query('running')).includes(run.commandId() as string),
      );
      const id = run.commandId() as string;
      expect((await run.outcome).status).toBe('completed');
      // Nothing was added to the log since the query above: only the command's status changed.
      expect(await query('running')).not.toContain(id);
      expect(await query('completed')).toContain(id);
      c.closeSession(s.id);
    } finally {
      c.close();
    }
  });

  it('refuses, on the agent itself, a script whose bytes changed after signing', async () => {
    await upload('tamper.sh', '#!/bin/bash\necho "original"\n');
    expect((await w.lr(['exec', 'romeo', 'run tamper.sh'])).code).toBe(0);
    // Change the stored bytes behind the service's back (same size; the database keeps the old SHA-256
    // and signature). The service serves files as stored, without re-hashing; only the agent can notice.
    const stored = join(w.dataDir, 'library', 'tamper.sh');
    const original = readFileSync(stored, 'utf8');
    writeFileSync(stored, original.replace('original', 'tampered'));
    expect(readFileSync(stored).length).toBe(Buffer.byteLength(original));
    // Unsigned scripts allowed or not, a signature that is there is always checked.
    await w.lr(['settings', 'set', 'unsignedScripts', 'on']);
    try {
      const r = await execJson('run tamper.sh');
      expect(r.code).toBe(1);
      // 'failed', not 'refused': the service prepared and dispatched the job; the agent ended it.
      expect(r.status).toBe('failed');
      expect(r.error).toBe(
        'run: signature check failed for tamper.sh: the file, its name or its interpreter does not match its signature',
      );
      expect(r.text).not.toContain('tampered');
      expect((await logEntry(r.commandId))?.status).toBe('failed');
    } finally {
      await w.lr(['settings', 'set', 'unsignedScripts', 'off']);
    }
  });
});

describe('run under a time limit', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld({ longCommandTimeoutSec: 3 });
    await w.addAgent('tango');
    expect((await w.lr(['settings', 'set', 'unsignedScripts', 'on'])).code).toBe(0);
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('kills the whole process tree when the time limit is reached, and logs it as timed out', async () => {
    const marker = `4000.${process.pid}${Date.now() % 100000}`;
    const file = join(w.dir, 'slow.sh');
    writeFileSync(file, '#!/bin/bash\ntrap "" TERM\nsleep "$1" &\nsetsid -f sleep "$1"\nwait\n');
    expect((await w.lr(['library', 'upload', file])).code).toBe(0);
    const r = await w.lr(['exec', 'tango', `run slow.sh -parameters ${marker}`, '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as ExecJson;
    expect(out.status).toBe('timed_out');
    expect(out.error).toMatch(/stopped on the device/);
    // bash ignores SIGTERM here: the agent had to escalate to SIGKILL.
    expect(processesWith(marker)).toEqual([]);
  });

  it('stops an executable at the time limit too, leaving no process', async () => {
    const marker = `4100.${process.pid}${Date.now() % 100000}`;
    const file = join(w.dir, 'lr-sleep');
    copyFileSync('/bin/sleep', file);
    expect((await w.lr(['library', 'upload', file])).code).toBe(0);
    const r = await w.lr(['exec', 'tango', `run lr-sleep -parameters ${marker}`, '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as ExecJson;
    expect(out.status).toBe('timed_out');
    expect(processesWith(marker)).toEqual([]);
  });
});
