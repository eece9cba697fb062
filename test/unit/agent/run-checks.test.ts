// The agent's own checks in `run`, with no service in the loop: even when the job's parameters vouch for
// a changed file (as a compromised service or database would), the agent refuses bytes that do not match
// the publisher's signature, refuses unsigned scripts unless told the tenant allows them, and re-checks
// the forbidden characters.
import { afterEach, describe, expect, it } from 'vitest';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCommand as run, runnerPlatformProblem } from '../../../src/agent/commands/run.js';
import type { JobContext } from '../../../src/agent/command.js';
import { signScript } from '../../../src/node/script-signature.js';
import { makeHarness, runCommand, tempDir } from './helpers.js';

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('run: checks made by the agent itself', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  /** An agent data folder whose working folder holds `content` as `name` (so no download happens). */
  const setup = (name: string, content: string) => {
    const t = tempDir('lr-run-unit-');
    cleanups.push(t.cleanup);
    mkdirSync(path.join(t.dir, 'work'));
    writeFileSync(path.join(t.dir, 'work', name), content);
    const h = makeHarness({ cwd: t.dir });
    // The service is never contacted: the working-folder copy matches the SHA-256 in the job.
    const ctx: JobContext = {
      ...h.ctx,
      dataDir: t.dir,
      service: { url: 'https://127.0.0.1:9', ca: 'unused', deviceId: 'unit' },
    };
    return { ...h, ctx, dir: t.dir };
  };

  it('runs a script whose bytes match the signature', async () => {
    const content = '#!/bin/bash\necho "hello $1"\n';
    const h = setup('ok.sh', content);
    const signature = signScript(privatePem, {
      name: 'ok.sh',
      sha256: sha256(content),
      size: Buffer.byteLength(content),
    });
    await runCommand(run, h, {
      script: 'ok.sh',
      parameters: "'big world'",
      _sha256: sha256(content),
      _size: Buffer.byteLength(content),
      _url: 'https://127.0.0.1:9/x',
      _signature: signature,
      _publisherKey: publicPem,
      _allowUnsigned: false,
    });
    expect(h.texts.join('')).toBe('hello big world\n');
    expect(h.records).toEqual([expect.objectContaining({ script: 'ok.sh', exitCode: 0 })]);
  });

  it('refuses changed bytes even when the job vouches for their SHA-256', async () => {
    const original = '#!/bin/bash\necho original\n';
    const tampered = '#!/bin/bash\ntouch pwned\n';
    const h = setup('t.sh', tampered);
    const signature = signScript(privatePem, {
      name: 't.sh',
      sha256: sha256(original),
      size: Buffer.byteLength(original),
    });
    const params = {
      script: 't.sh',
      _sha256: sha256(tampered),
      _size: Buffer.byteLength(tampered),
      _url: 'https://127.0.0.1:9/x',
      _signature: signature,
      _publisherKey: publicPem,
      _allowUnsigned: true,
    };
    await expect(runCommand(run, h, params)).rejects.toThrow(
      'run: signature check failed for t.sh: the file, its name or its interpreter does not match its signature',
    );
    expect(existsSync(path.join(h.dir, 'pwned'))).toBe(false);
    expect(h.texts).toEqual([]);
  });

  it('refuses a signature made for the same bytes under another name (another interpreter)', async () => {
    const content = 'echo "#"; touch pwned\n';
    const h = setup('twin.sh', content);
    const signature = signScript(privatePem, {
      name: 'twin.py',
      sha256: sha256(content),
      size: Buffer.byteLength(content),
    });
    const params = {
      script: 'twin.sh',
      _sha256: sha256(content),
      _size: Buffer.byteLength(content),
      _url: 'https://127.0.0.1:9/x',
      _signature: signature,
      _publisherKey: publicPem,
      _allowUnsigned: true,
    };
    await expect(runCommand(run, h, params)).rejects.toThrow(
      'run: signature check failed for twin.sh: the file, its name or its interpreter does not match its signature',
    );
    expect(existsSync(path.join(h.dir, 'pwned'))).toBe(false);
  });

  it('refuses an unsigned script unless the job says the tenant allows them', async () => {
    const content = '#!/bin/bash\necho unsigned\n';
    const h = setup('u.sh', content);
    const params = {
      script: 'u.sh',
      _sha256: sha256(content),
      _size: Buffer.byteLength(content),
      _url: 'https://127.0.0.1:9/x',
    };
    await expect(runCommand(run, h, params)).rejects.toThrow(
      'run: u.sh is not signed and unsigned scripts are not allowed on this tenant',
    );
    await runCommand(run, h, { ...params, _allowUnsigned: true });
    expect(h.texts.join('')).toBe('unsigned\n');
  });

  it('re-checks the forbidden characters', async () => {
    const content = 'echo x\n';
    const h = setup('f.sh', content);
    await expect(
      runCommand(run, h, {
        script: 'f.sh',
        parameters: 'a;b',
        _sha256: sha256(content),
        _size: 7,
        _url: 'https://127.0.0.1:9/x',
        _allowUnsigned: true,
      }),
    ).rejects.toThrow('run: parameters may not contain ; & | ! $');
  });

  it('says so when the interpreter is not installed (pwsh, looked up on a PATH without it)', async () => {
    const content = 'Write-Output hi\n';
    const h = setup('x.ps1', content);
    // Interpreters are looked up on PATH when the script runs: an empty folder has none, whatever this machine has.
    const empty = tempDir();
    const saved = process.env.PATH;
    process.env.PATH = empty.dir;
    try {
      await expect(
        runCommand(run, h, {
          script: 'x.ps1',
          _sha256: sha256(content),
          _size: Buffer.byteLength(content),
          _url: 'https://127.0.0.1:9/x',
          _allowUnsigned: true,
        }),
      ).rejects.toThrow('run: pwsh is not installed on this device (needed for .ps1 scripts)');
    } finally {
      process.env.PATH = saved;
      empty.cleanup();
    }
  });

  it('refuses a signed batch file on a Linux device before fetching or running anything', async () => {
    const content = '@echo off\r\necho hi\r\n';
    const h = setup('w.bat', content);
    const signature = signScript(privatePem, {
      name: 'w.bat',
      sha256: sha256(content),
      size: Buffer.byteLength(content),
    });
    await expect(
      runCommand(run, h, {
        script: 'w.bat',
        _sha256: sha256(content),
        _size: Buffer.byteLength(content),
        _url: 'https://127.0.0.1:9/x',
        _signature: signature,
        _publisherKey: publicPem,
      }),
    ).rejects.toThrow(`run: w.bat: a Windows batch file cannot run on this ${process.platform} device`);
    expect(h.texts).toEqual([]);
  });

  it("re-checks a batch file's parameters for cmd's metacharacters, whatever the service let through", async () => {
    const content = '@echo off\r\necho %1\r\n';
    const h = setup('p.bat', content);
    const params = {
      script: 'p.bat',
      _sha256: sha256(content),
      _size: Buffer.byteLength(content),
      _url: 'https://127.0.0.1:9/x',
      _allowUnsigned: true,
    };
    for (const [parameters, ch] of <[string, string][]>[
      ['a%PATH%', '%'],
      ["'x) else (calc'", ')'],
      ['a>b', '>'],
      ['a^b', '^'],
    ]) {
      await expect(runCommand(run, h, { ...params, parameters }), parameters).rejects.toThrow(
        `run: parameters of a .bat/.cmd script may not contain ${ch} (`,
      );
    }
  });
});

describe('run: what each OS runs', () => {
  it('Windows runs .ps1, .bat, .cmd and .exe; refuses .sh, .py and files without .exe in one line', () => {
    for (const [name, runner] of <[string, string][]>[
      ['a.ps1', 'pwsh'],
      ['a.bat', 'cmd'],
      ['a.cmd', 'cmd'],
      ['a.exe', 'native-pe'],
    ])
      expect(runnerPlatformProblem(name, runner, 'win32'), name).toBeNull();
    expect(runnerPlatformProblem('a.sh', 'bash', 'win32')).toBe(
      'run: a.sh: .sh scripts run on Linux and macOS devices only; on Windows use .ps1, .bat, .cmd or .exe',
    );
    expect(runnerPlatformProblem('a.py', 'python3', 'win32')).toBe(
      'run: a.py: .py scripts run on Linux and macOS devices only; on Windows use .ps1, .bat, .cmd or .exe',
    );
    expect(runnerPlatformProblem('collector', 'native-elf', 'win32')).toBe(
      'run: collector: on Windows devices only .exe files run as executables (a file without an extension is taken as a Linux executable)',
    );
  });

  it('Linux runs scripts and ELF executables, never batch files or .exe; macOS no executables', () => {
    for (const [name, runner] of <[string, string][]>[
      ['a.sh', 'bash'],
      ['a.py', 'python3'],
      ['a.ps1', 'pwsh'],
      ['collector', 'native-elf'],
    ])
      expect(runnerPlatformProblem(name, runner, 'linux'), name).toBeNull();
    expect(runnerPlatformProblem('a.cmd', 'cmd', 'linux')).toBe(
      'run: a.cmd: a Windows batch file cannot run on this linux device',
    );
    expect(runnerPlatformProblem('a.exe', 'native-pe', 'linux')).toBe(
      'run: a.exe: a Windows executable cannot run on this linux device',
    );
    expect(runnerPlatformProblem('collector', 'native-elf', 'darwin')).toBe(
      'run: collector: executables run on Linux devices only (this one is darwin)',
    );
  });
});
