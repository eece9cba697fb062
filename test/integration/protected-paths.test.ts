// Security issue, findings 3 and 7: no analyst, whatever their role, can read, hash, collect, remediate,
// undo into or overwrite the agent's own data folder (its private key in agent.json) or a service's data
// folder (admin.profile.json) on the device, by a plain path, a symlink, a symlinked folder or `..`; and
// every path is normalised and its links resolved before it is judged (remediate scheduledtask
// /etc/cron.d/../../<agent data>/... used to quarantine the agent's key).
//
// The world's folder stands for the device's root (the agent's sysroot), so the service's data is at
// /server and the agent's at /agent-echo there, as they would be side by side on one machine; the live
// paths (getfile, fileinfo, remediate file...) are the same files seen from the host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createWorld, freePort, run, type World } from './harness.js';
import { IS_ROOT, itNeeds } from '../needs.js';

type Rec = Record<string, unknown>;
interface ExecJson {
  status: string;
  error: string | null;
  records: Rec[];
}

const SERVICE = "a live response service's data folder";
const OWN = "the agent's own data folder";

/** Members of a zip, read with python3's zipfile (independent of our writer). */
function unzip(file: string): Map<string, Buffer> {
  const script =
    'import sys,zipfile,json,base64\nz=zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({n: base64.b64encode(z.read(n)).decode() for n in z.namelist()}))';
  const out = execFileSync('python3', ['-c', script, file], { maxBuffer: 512 * 1024 * 1024 }).toString();
  return new Map(
    Object.entries(JSON.parse(out) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  );
}

describe('protected folders: the agent never hands out or touches its own or a service data folder', () => {
  let w: World;
  let root: string;
  let agentDir: string;
  let agentJson: string;
  let adminProfile: string;
  let files: string;
  let out: string;
  let basic: string;
  let advanced: string;
  let token: string;
  let privateKey: string;

  beforeAll(async () => {
    w = await createWorld();
    root = w.dir;
    mkdirSync(join(root, 'etc/cron.d'), { recursive: true });
    mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
    mkdirSync(join(root, 'home/mallory/.ssh'), { recursive: true });
    writeFileSync(
      join(root, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/bash\nmallory:x:1001:1001::/home/mallory:/bin/bash\n',
    );
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nmallory:x:1001:\n');
    // A local user's files linked to the secrets (relative links: the same target for the host and the
    // sysroot's readers). collect copies histories; persistence hashes and describes authorized_keys.
    symlinkSync('../../server/admin.profile.json', join(root, 'home/mallory/.bash_history'));
    symlinkSync('../../agent-echo/agent.json', join(root, 'home/mallory/.zsh_history'));
    symlinkSync('../../../server/admin.profile.json', join(root, 'home/mallory/.ssh/authorized_keys'));
    agentDir = (await w.addAgent('echo', { sysroot: root })).dataDir;
    agentJson = join(agentDir, 'agent.json');
    adminProfile = w.adminProfile;
    token = (JSON.parse(readFileSync(adminProfile, 'utf8')) as { token: string }).token;
    privateKey = (JSON.parse(readFileSync(agentJson, 'utf8')) as { privateKey: string }).privateKey;
    basic = await w.addUser('bob', 'basic');
    advanced = await w.addUser('rita', 'advanced');
    files = mkdtempSync(join(tmpdir(), 'lr-pp-files-'));
    out = mkdtempSync(join(tmpdir(), 'lr-pp-out-'));
    writeFileSync(join(files, 'ordinary.txt'), 'nothing secret\n');
    symlinkSync(agentJson, join(files, 'key-link'));
    symlinkSync(w.dataDir, join(files, 'srv-link'));
  }, 60_000);
  afterAll(async () => {
    await w?.cleanup();
    rmSync(files, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  });

  const exec = async (line: string, profile = advanced): Promise<ExecJson & { code: number | null }> => {
    const r = await w.lr(['exec', 'echo', line, '--out', out, '--json'], profile, { timeoutMs: 120_000 });
    // A failed file transfer (getfile) prints its error on stderr only.
    if (r.stdout.trim() === '')
      return {
        status: r.code === 0 ? 'completed' : 'failed',
        error: r.stderr.trim().replace(/^lr: /, '') || null,
        records: [],
        code: r.code,
      };
    return { ...(JSON.parse(r.stdout) as ExecJson), code: r.code };
  };
  const refused = async (line: string, error: string | RegExp, profile = advanced) => {
    const r = await exec(line, profile);
    expect(r.status, line).toBe('failed');
    if (typeof error === 'string') expect(r.error, line).toBe(error);
    else expect(r.error, line).toMatch(error);
  };
  const unchanged = () => {
    expect((JSON.parse(readFileSync(agentJson, 'utf8')) as { privateKey: string }).privateKey).toBe(privateKey);
    expect((JSON.parse(readFileSync(adminProfile, 'utf8')) as { token: string }).token).toBe(token);
  };
  /** Nothing the commands wrote to the analyst's side holds a secret. */
  const nothingLeaked = () => {
    for (const name of readdirSync(out)) {
      const text = readFileSync(join(out, name), 'latin1');
      expect(text.includes(token) || text.includes(privateKey.slice(40, 100)), name).toBe(false);
    }
  };

  it('getfile refuses the admin profile and the agent key, for every role, by path, link, linked folder and ..', async () => {
    // The control: an ordinary file comes down.
    const ok = await exec(`getfile "${join(files, 'ordinary.txt')}"`, basic);
    expect(ok.status).toBe('completed');

    for (const profile of [basic, advanced, w.adminProfile]) {
      await refused(`getfile "${adminProfile}"`, `getfile: refused: ${adminProfile} is in ${SERVICE}`, profile);
      await refused(`getfile "${agentJson}"`, `getfile: refused: ${agentJson} is in ${OWN}`, profile);
    }
    await refused(
      `getfile "${join(files, 'key-link')}"`,
      `getfile: refused: ${join(files, 'key-link')} is in ${OWN} (it resolves to ${agentJson})`,
      basic,
    );
    await refused(
      `getfile "${join(files, 'srv-link/admin.profile.json')}"`,
      `getfile: refused: ${join(files, 'srv-link/admin.profile.json')} is in ${SERVICE} (it resolves to ${adminProfile})`,
      basic,
    );
    const dotdot = `${files}/../${basename(root)}/agent-echo/quarantine/../agent.json`;
    await refused(`getfile "${dotdot}"`, `getfile: refused: ${agentJson} is in ${OWN}`, basic);
    // Other secrets of both folders, and names that do not exist there (no existence oracle either).
    await refused(
      `getfile "${join(w.dataDir, 'tls/ca.key')}"`,
      new RegExp(`^getfile: refused: .*ca\\.key is in ${SERVICE}$`),
      basic,
    );
    await refused(`getfile "${join(w.dataDir, 'no-such-file')}"`, new RegExp(`is in ${SERVICE}$`), basic);
    await refused(`getfile "${join(agentDir, 'received-jobs.log')}"`, new RegExp(`is in ${OWN}$`), basic);
    nothingLeaked();
  }, 120_000);

  it('fileinfo (hashes), analyze and scan -path refuse them too', async () => {
    await refused(`fileinfo "${agentJson}"`, `fileinfo: refused: ${agentJson} is in ${OWN}`, basic);
    await refused(
      `fileinfo "${join(files, 'srv-link/admin.profile.json')}"`,
      new RegExp(`^fileinfo: refused: .* is in ${SERVICE} \\(it resolves to ${adminProfile}\\)$`),
      basic,
    );
    await refused(
      `analyze file "${join(files, 'key-link')}"`,
      `analyze: refused: ${join(files, 'key-link')} is in ${OWN} (it resolves to ${agentJson})`,
    );
    await refused(`analyze file "${adminProfile}"`, `analyze: refused: ${adminProfile} is in ${SERVICE}`);
    await refused(
      `scan -path "${join(files, 'srv-link')}"`,
      `scan: refused: ${join(files, 'srv-link')} is in ${SERVICE} (it resolves to ${w.dataDir})`,
    );
    const control = await exec(`fileinfo "${join(files, 'ordinary.txt')}"`, basic);
    expect(control.records[0]).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  }, 60_000);

  it('collect leaves out sources linked into them and says why; persistence does not read them', async () => {
    const r = await w.lr(['exec', 'echo', 'collect', '--out', out, '--json'], advanced, { timeoutMs: 180_000 });
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { file: string };
    const members = unzip(result.file);
    const manifest = JSON.parse((members.get('manifest.json') as Buffer).toString()) as {
      members: { name: string }[];
      notes: string[];
    };
    expect(manifest.members.map((m) => m.name).filter((n) => n.startsWith('histories/mallory/'))).toEqual([]);
    expect(manifest.notes).toContain(
      `/home/mallory/.bash_history: not collected: refused: ${join(root, 'home/mallory/.bash_history')} is in ${SERVICE} (it resolves to ${adminProfile})`,
    );
    expect(manifest.notes).toContain(
      `/home/mallory/.zsh_history: not collected: refused: ${join(root, 'home/mallory/.zsh_history')} is in ${OWN} (it resolves to ${agentJson})`,
    );
    for (const [name, data] of members)
      expect(
        data.toString('latin1').includes(token) || data.toString('latin1').includes(privateKey.slice(40, 100)),
        name,
      ).toBe(false);

    const persistence = await exec('persistence', basic);
    const keys = persistence.records.find((x) => x.path === '/home/mallory/.ssh/authorized_keys');
    expect(keys).toMatchObject({
      sha256: null,
      detail: `symlink to ../../../server/admin.profile.json; not read: it is in ${SERVICE}`,
    });
    expect(JSON.stringify(persistence.records)).not.toContain(token);
  }, 240_000);

  it('remediate refuses every kind aimed at them, judging the normalised path with its links resolved', async () => {
    // Finding 7: the path is normalised before it is judged, so this is not a cron script at all.
    await refused(
      'remediate scheduledtask /etc/cron.d/../../agent-echo/agent.json',
      'remediate: scheduledtask: /etc/cron.d/../../agent-echo/agent.json: give SOURCE:LINE of a cron entry, a .timer unit or a /etc/cron.<period> script (see scheduledtasks)',
    );
    // A cron folder that is a link to the agent's data folder: the real path is judged.
    symlinkSync('../agent-echo', join(root, 'etc/cron.weekly'));
    await refused(
      'remediate scheduledtask /etc/cron.weekly/agent.json',
      `remediate: refused: ${join(root, 'etc/cron.weekly/agent.json')} is in ${OWN} (it resolves to ${agentJson})`,
    );
    await refused(
      'remediate service /etc/systemd/system/../../../server/admin.profile.json',
      `remediate: refused: ${adminProfile} is in ${SERVICE}`,
    );
    await refused(
      `remediate file "${join(files, 'srv-link/admin.profile.json')}"`,
      `remediate: refused: ${join(files, 'srv-link/admin.profile.json')} is in ${SERVICE} (it resolves to ${adminProfile})`,
    );
    await refused(
      `remediate file "${agentDir}/quarantine/../agent.json"`,
      `remediate: refused: ${agentJson} is in ${OWN}`,
    );
    // The same refusal for an admin: no role reaches them.
    await refused(
      `remediate file "${adminProfile}"`,
      `remediate: refused: ${adminProfile} is in ${SERVICE}`,
      w.adminProfile,
    );
    unchanged();
    expect((await exec('remediate list')).records).toEqual([]);
  }, 120_000);

  it('undo never restores into them, even when the original folder became a link to one', async () => {
    const sub = join(files, 'sub');
    mkdirSync(sub);
    writeFileSync(join(sub, 'dropper'), 'payload\n');
    expect((await exec(`remediate file "${join(sub, 'dropper')}"`)).status).toBe('completed');
    rmSync(sub, { recursive: true });
    symlinkSync(agentDir, sub);
    await refused(
      `undo file "${join(sub, 'dropper')}"`,
      `undo: refused: ${join(sub, 'dropper')} is in ${OWN} (it resolves to ${join(agentDir, 'dropper')})`,
    );
    expect(existsSync(join(agentDir, 'dropper'))).toBe(false);
    rmSync(sub);
    mkdirSync(sub);
    expect((await exec(`undo file "${join(sub, 'dropper')}"`)).status).toBe('completed');
    expect(readFileSync(join(sub, 'dropper'), 'utf8')).toBe('payload\n');
  }, 60_000);

  it('putfile writes only into the real working folder, never through a link onto the agent key', async () => {
    const lib = join(files, 'agent.json');
    writeFileSync(lib, '{"overwritten": true}\n');
    const up = await w.lr(['library', 'upload', lib, '--overwrite']);
    expect(up.code, up.stderr).toBe(0);
    // The control: it lands in DATA/work, next to nothing that matters.
    expect((await exec('putfile agent.json')).status).toBe('completed');
    expect(readFileSync(join(agentDir, 'work', 'agent.json'), 'utf8')).toBe('{"overwritten": true}\n');
    unchanged();
    // A working folder swapped for a link to the data folder must not redirect the write.
    renameSync(join(agentDir, 'work'), join(agentDir, 'work.real'));
    symlinkSync('.', join(agentDir, 'work'));
    try {
      await refused(
        'putfile agent.json -overwrite',
        `putfile: refused: ${join(agentDir, 'work', 'agent.json')} resolves to ${agentJson}, outside the agent's working folder`,
      );
      unchanged();
    } finally {
      rmSync(join(agentDir, 'work'));
      renameSync(join(agentDir, 'work.real'), join(agentDir, 'work'));
    }
  }, 60_000);

  it('dir still lists their names (no content, no hashes): what is there is not a secret', async () => {
    const names = (await exec(`dir "${agentDir}"`, basic)).records.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['agent.json', 'quarantine', '.lr-data-folder']));
  });

  itNeeds(IS_ROOT ? null : 'needs root (chown of a marker to another user)')(
    'a marker counts only when root or the agent user owns it (a local user cannot hide a folder)',
    async () => {
      for (const [name, uid] of [
        ['by-nobody', 65534],
        ['by-root', 0],
      ] as const) {
        mkdirSync(join(files, name));
        writeFileSync(join(files, name, '.lr-data-folder'), '{"kind":"lr-service"}\n');
        chownSync(join(files, name, '.lr-data-folder'), uid, uid);
        writeFileSync(join(files, name, 'loot.txt'), 'loot\n');
      }
      expect((await exec(`getfile "${join(files, 'by-nobody/loot.txt')}"`, basic)).status).toBe('completed');
      await refused(
        `getfile "${join(files, 'by-root/loot.txt')}"`,
        `getfile: refused: ${join(files, 'by-root/loot.txt')} is in ${SERVICE}`,
        basic,
      );
    },
  );

  it('the data folders are private and marked: lr-server init (also into an existing folder), lr-server start, the agent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lr-pp-init-'));
    try {
      const data = join(dir, 'srv');
      mkdirSync(data, { mode: 0o755 });
      const init = await run('lr-server', ['init', '--data', data, '--listen', `127.0.0.1:${await freePort()}`]);
      expect(init.code, init.stderr).toBe(0);
      expect(statSync(data).mode & 0o777).toBe(0o700);
      expect(statSync(join(data, 'admin.profile.json')).mode & 0o777).toBe(0o600);
      expect(lstatSync(join(data, '.lr-data-folder')).isFile()).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(statSync(w.dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(adminProfile).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(w.dataDir, '.lr-data-folder'), 'utf8')).toContain('"kind":"lr-service"');
    expect(readFileSync(join(agentDir, '.lr-data-folder'), 'utf8')).toContain('"kind":"lr-agent"');
    expect(statSync(agentJson).mode & 0o777).toBe(0o600);
    // A folder made wider (or by an older version, without a marker) is brought back in line at start.
    chmodSync(w.dataDir, 0o755);
    chmodSync(adminProfile, 0o644);
    rmSync(join(w.dataDir, '.lr-data-folder'));
    await w.stopServer();
    await w.startServer();
    expect(statSync(w.dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(adminProfile).mode & 0o777).toBe(0o600);
    expect(lstatSync(join(w.dataDir, '.lr-data-folder')).isFile()).toBe(true);
  });
});
