// `collect` gives a zip whose manifest hashes verify and which holds at
// least processes, connections, persistence and users; `analyze` flags a planted file whose hash is a
// tenant indicator and one that matches a YARA rule from the library; `scan` finds the EICAR test file
// with ClamAV, using a signature database this test writes itself (freshclam is unreachable here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstProblem, itNeeds, missingCommand } from '../needs.js';
import { createWorld, type World } from './harness.js';

type Rec = Record<string, unknown>;
interface ExecJson {
  commandId: string;
  status: string;
  error: string | null;
  records: Rec[];
}

const NO_YARA = missingCommand('yara');
const NO_CLAMAV = missingCommand('clamscan', 'clamav');
const NO_PYTHON = missingCommand('python3');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Members of a zip, read with python3's zipfile (independent of our writer): name -> base64 bytes. */
function unzip(file: string): Map<string, Buffer> {
  const script =
    'import sys,zipfile,json,base64\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({n: base64.b64encode(z.read(n)).decode() for n in z.namelist()}))';
  const out = execFileSync('python3', ['-c', script, file], { maxBuffer: 512 * 1024 * 1024 }).toString();
  return new Map(
    Object.entries(JSON.parse(out) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  );
}

// The EICAR test file (harmless by definition), assembled so that this source file is not itself flagged.
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join('');

describe('collect, analyze and scan', () => {
  let w: World;
  let files: string;
  let out: string;
  let db: string;
  let responder: string;
  beforeAll(async () => {
    files = mkdtempSync(join(tmpdir(), 'lr-ca-files-'));
    out = mkdtempSync(join(tmpdir(), 'lr-ca-out-'));
    db = join(files, 'clamdb');
    mkdirSync(db);
    // A ClamAV hash signature (MD5:size:name) for the EICAR file: the agent's clamscan uses it via LR_CLAMAV_DB.
    writeFileSync(
      join(db, 'lr-test.hdb'),
      `${createHash('md5').update(EICAR).digest('hex')}:${EICAR.length}:Lr.Test.EICAR\n`,
    );
    process.env.LR_CLAMAV_DB = db; // inherited by the agent the harness starts
    w = await createWorld();
    await w.addAgent('mike');
    responder = await w.addUser('ada', 'advanced');
  });
  afterAll(async () => {
    delete process.env.LR_CLAMAV_DB;
    await w?.cleanup();
    rmSync(files, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  const exec = async (line: string, profile = responder): Promise<ExecJson & { code: number | null }> => {
    const r = await w.lr(['exec', 'mike', line, '--json'], profile, { timeoutMs: 180_000 });
    return { ...(JSON.parse(r.stdout) as ExecJson), code: r.code };
  };

  itNeeds(NO_PYTHON)(
    'collect downloads a zip whose manifest verifies and holds processes, connections, persistence and users',
    async () => {
      const r = await w.lr(['exec', 'mike', 'collect', '--out', out, '--json'], responder, { timeoutMs: 180_000 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const result = JSON.parse(r.stdout) as { status: string; file: string; sha256: string; size: number };
      expect(result.status).toBe('completed');
      expect(result.file).toMatch(/collect-.*\.zip$/);
      expect(sha256(readFileSync(result.file))).toBe(result.sha256);
      const members = unzip(result.file);
      const manifest = JSON.parse((members.get('manifest.json') as Buffer).toString()) as {
        kind: string;
        members: { name: string; size: number; sha256: string }[];
        notes: string[];
      };
      expect(manifest.kind).toBe('lr-collect');
      expect(members.size).toBe(manifest.members.length + 1);
      for (const m of manifest.members) {
        const data = members.get(m.name);
        expect(data, m.name).toBeDefined();
        expect(data?.length, m.name).toBe(m.size);
        expect(sha256(data as Buffer), m.name).toBe(m.sha256);
      }
      for (const name of [
        'processes.json',
        'connections.json',
        'persistence.json',
        'users/passwd',
        'users/logins.json',
        'system/info.json',
        'services.json',
        'scheduledtasks.json',
        'network/interfaces.json',
      ]) {
        expect(members.has(name), name).toBe(true);
      }
      const processes = JSON.parse((members.get('processes.json') as Buffer).toString()) as { pid: number }[];
      expect(processes.some((p) => p.pid === process.pid)).toBe(true);
      expect((members.get('users/passwd') as Buffer).toString()).toContain('root:');
      expect(JSON.parse((members.get('system/info.json') as Buffer).toString())).toMatchObject({
        hostname: expect.any(String),
      });
      // The package does not stay on the device.
      const agentWork = join(w.dir, 'agent-mike', 'work');
      expect(existsSync(agentWork) ? readdirSync(agentWork).filter((n) => n.startsWith('collect-')) : []).toEqual([]);
      const log = JSON.parse((await w.lr(['log', '--device', 'mike', '--json'])).stdout) as Rec[];
      expect(log.find((e) => e.commandLine === 'collect')).toMatchObject({ user: 'ada', status: 'completed' });
    },
    240_000,
  );

  it('indicators: admins add and delete, advanced responders list', async () => {
    const h = sha256('not on any device');
    const refused = await w.lr(['indicators', 'add', h], responder);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe('lr: refused: managing indicators needs the admin role (you are advanced)');
    expect((await w.lr(['indicators', 'add', h.toUpperCase(), '--description', 'test'])).code).toBe(0);
    const list = JSON.parse((await w.lr(['indicators', 'list', '--json'], responder)).stdout) as Rec[];
    expect(list).toEqual([expect.objectContaining({ sha256: h, description: 'test', addedBy: 'admin' })]);
    expect((await w.lr(['indicators', 'delete', h])).code).toBe(0);
    expect(JSON.parse((await w.lr(['indicators', 'list', '--json'])).stdout)).toEqual([]);
    const bad = await w.lr(['indicators', 'add', 'xyz']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/64 hex digits/);
  });

  itNeeds(firstProblem(NO_YARA, NO_CLAMAV))(
    'analyze flags a file whose hash is an indicator, and shows which engines ran',
    async () => {
      const planted = join(files, 'implant.bin');
      writeFileSync(planted, `implant ${Date.now()}\n`);
      const h = sha256(readFileSync(planted));
      expect((await w.lr(['indicators', 'add', h, '--description', 'planted implant'])).code).toBe(0);
      const r = await exec(`analyze file ${planted}`);
      expect(r.error).toBeNull();
      const by = new Map(r.records.map((x) => [x.engine, x]));
      expect(by.get('indicators')).toMatchObject({ ran: true, verdict: 'malicious', sha256: h, path: planted });
      expect(by.get('overall')).toMatchObject({ verdict: 'malicious' });
      expect(by.get('yara')).toMatchObject({
        ran: false,
        verdict: 'skipped',
        detail: 'no YARA rules (.yar, .yara) in the library',
      });
      expect(by.get('clamav')).toMatchObject({ ran: true, verdict: 'clean' });

      const clean = join(files, 'clean.txt');
      writeFileSync(clean, 'nothing to see\n');
      const c = await exec(`analyze file ${clean}`);
      expect(c.records.find((x) => x.engine === 'indicators')).toMatchObject({
        ran: true,
        verdict: 'clean',
        detail: 'no match among 1 tenant indicators',
      });
      expect(c.records.find((x) => x.engine === 'overall')).toMatchObject({ verdict: 'clean' });
    },
    120_000,
  );

  itNeeds(NO_YARA)(
    'analyze flags a file matching a YARA rule from the library',
    async () => {
      const rule = join(files, 'lr-marker.yar');
      writeFileSync(
        rule,
        'rule LrPlantedMarker\n{\n  strings:\n    $m = "LR-YARA-MARKER-7731"\n  condition:\n    $m\n}\n',
      );
      const up = await w.lr(['library', 'upload', rule, '--overwrite']);
      expect(up.stderr).toBe('');
      const planted = join(files, 'marked.bin');
      writeFileSync(planted, 'prefix LR-YARA-MARKER-7731 suffix\n');
      const r = await exec(`analyze file ${planted}`);
      expect(r.error).toBeNull();
      expect(r.records.find((x) => x.engine === 'yara')).toMatchObject({
        ran: true,
        verdict: 'malicious',
        detail: 'matched LrPlantedMarker (lr-marker.yar)',
      });
      expect(r.records.find((x) => x.engine === 'overall')).toMatchObject({ verdict: 'malicious' });
      const other = join(files, 'unmarked.bin');
      writeFileSync(other, 'nothing\n');
      const o = await exec(`analyze file ${other}`);
      expect(o.records.find((x) => x.engine === 'yara')).toMatchObject({ ran: true, verdict: 'clean' });
    },
    120_000,
  );

  itNeeds(NO_CLAMAV)(
    'scan finds the EICAR test file with ClamAV, and analyze names its signature',
    async () => {
      const dir = join(files, 'scanme');
      mkdirSync(join(dir, 'deep'), { recursive: true });
      writeFileSync(join(dir, 'deep', 'eicar.com'), EICAR);
      writeFileSync(join(dir, 'harmless.txt'), 'hello\n');
      const r = await exec(`scan -path ${dir}`);
      expect(r.error).toBeNull();
      const findings = r.records.filter((x) => x.type === 'finding');
      expect(findings).toEqual([
        {
          type: 'finding',
          path: join(dir, 'deep', 'eicar.com'),
          signature: expect.stringMatching(/^Lr\.Test\.EICAR/),
          engine: 'clamav',
        },
      ]);
      expect(r.records.at(-1)).toMatchObject({ type: 'summary', detail: expect.stringMatching(/^1 finding/) });
      const a = await exec(`analyze file ${join(dir, 'deep', 'eicar.com')}`);
      expect(a.records.find((x) => x.engine === 'clamav')).toMatchObject({
        ran: true,
        verdict: 'malicious',
        detail: expect.stringMatching(/^signature Lr\.Test\.EICAR/),
      });
    },
    180_000,
  );
});
