// `remediate` refuses system-critical targets without -force (the Linux deny-list in
// src/agent/platform/linux/quarantine-deny.ts), through a real agent and service. The account database is
// named by its real path, by a link and by `..`: each refusal names the rule, /etc/passwd keeps its bytes
// (SHA-256 before and after) and nothing enters the quarantine. A throwaway file planted in /usr/lib shows
// that -force takes a critical-folder file anyway, and that undo puts it back; the agent's own program and
// init stay refused even with -force.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createWorld, type World } from './harness.js';

type Rec = Record<string, unknown>;
interface ExecJson {
  status: string;
  error: string | null;
  records: Rec[];
}

const sha256 = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('remediate deny-list (Linux)', () => {
  let w: World;
  let root: string;
  let files: string;
  let agentDir: string;
  let responder: string;
  const usrLib = mkdtempSync('/usr/lib/lr-deny-test-');

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'lr-deny-root-'));
    files = mkdtempSync(join(tmpdir(), 'lr-deny-files-'));
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    writeFileSync(join(root, 'etc/systemd/system/systemd-fake.service'), '[Service]\nExecStart=/bin/true\n');
    w = await createWorld();
    agentDir = (await w.addAgent('lima', { sysroot: root })).dataDir;
    responder = await w.addUser('rita', 'advanced');
  });
  afterAll(async () => {
    await w?.cleanup();
    rmSync(root, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
    rmSync(usrLib, { recursive: true, force: true });
  });

  const exec = async (line: string): Promise<ExecJson> =>
    JSON.parse((await w.lr(['exec', 'lima', line, '--json'], responder)).stdout) as ExecJson;
  const quarantined = async (): Promise<Rec[]> => (await exec('remediate list')).records;

  it('item 3: remediate file /etc/passwd is refused by name, link and .., and the file keeps its bytes', async () => {
    const before = sha256('/etc/passwd');
    const link = join(files, 'innocent');
    symlinkSync('/etc/passwd', link);
    for (const [target, shown] of [
      ['/etc/passwd', '/etc/passwd is'],
      [link, `${link} (/etc/passwd) is`],
      [`${files}/../../etc/passwd`, '/etc/passwd is'],
      ['/etc/passwd -auto', '/etc/passwd is'],
    ] as const) {
      const r = await exec(`remediate file ${target}`);
      expect(r.status, target).toBe('refused');
      expect(r.error, target).toBe(
        `remediate: ${shown} a system-critical file (account database): remediate refuses it without -force`,
      );
      expect(sha256('/etc/passwd')).toBe(before);
    }
    expect(existsSync(link)).toBe(true);
    const shadow = await exec('remediate file /etc/shadow');
    expect(shadow.error).toMatch(/^remediate: \/etc\/shadow is a system-critical file \(account database\)/);
    const loader = await exec('remediate file /lib64/ld-linux-x86-64.so.2');
    expect(loader.error).toMatch(
      /is a system-critical file \(the dynamic loader\): remediate refuses it without -force$/,
    );
    expect(await quarantined()).toEqual([]);
  });

  it('item 3: -force takes a file of a critical folder, undo puts it back; the agent itself and init never', async () => {
    const planted = join(usrLib, 'planted.so');
    writeFileSync(planted, 'not a real library\n');
    const hash = sha256(planted);
    const refused = await exec(`remediate file ${planted}`);
    expect(refused.error).toBe(
      `remediate: ${planted} is a system-critical file (system libraries (/usr/lib)): remediate refuses it without -force`,
    );
    expect(sha256(planted)).toBe(hash);

    const forced = await exec(`remediate file ${planted} -force`);
    expect(forced.error).toBeNull();
    expect(existsSync(planted)).toBe(false);
    expect((await exec(`undo file ${planted}`)).error).toBeNull();
    expect(sha256(planted)).toBe(hash);

    const program = resolve('out/bin/lr-agent.js');
    const own = await exec(`remediate file ${program} -force`);
    expect(own.status).toBe('refused');
    expect(own.error).toBe(`remediate: ${program} is the agent's own program: refused, even with -force`);
    expect(existsSync(program)).toBe(true);
    const data = await exec(`remediate file ${join(agentDir, 'agent.json')} -force`);
    expect(data.error).toBe(`remediate: refused: ${join(agentDir, 'agent.json')} is in the agent's own data folder`);

    const init = await exec('remediate process 1 -force');
    expect(init.error).toBe('remediate: process 1 is init (pid 1): refused, even with -force');

    const unit = await exec('remediate service systemd-fake');
    expect(unit.error).toBe(
      "remediate: systemd-fake.service is a system-critical unit (part of systemd, the system's service manager): remediate refuses it without -force",
    );
    expect(existsSync(join(root, 'etc/systemd/system/systemd-fake.service'))).toBe(true);
    expect((await quarantined()).map((e) => `${String(e.type)} ${String(e.target)} ${String(e.state)}`)).toEqual([
      `file ${planted} restored`,
    ]);
  });

  it('-sha256 pins the file: a file that changed since it was shown is refused and stays; the shown one is taken', async () => {
    const file = join(files, 'dropper.sh');
    writeFileSync(file, '#!/bin/sh\necho shown\n');
    const shown = sha256(file);
    writeFileSync(file, '#!/bin/sh\necho swapped\n');
    const now = sha256(file);
    const changed = await exec(`remediate file ${file} -sha256 ${shown}`);
    expect(changed.status).toBe('refused');
    expect(changed.error).toBe(
      `remediate: ${file} changed since it was shown: its SHA-256 is now ${now}, not ${shown}; nothing was done`,
    );
    expect(existsSync(file)).toBe(true);
    expect((await quarantined()).some((e) => e.target === file)).toBe(false);
    expect((await exec(`remediate process 1 -sha256 ${shown}`)).error).toBe(
      'remediate: -sha256 applies to remediate file only',
    );
    const taken = await exec(`remediate file ${file} -sha256 ${now.toUpperCase()}`);
    expect(taken.error).toBeNull();
    expect(existsSync(file)).toBe(false);
  });
});
