// Every catalog command, run through the real service and agent
// by a basic, an advanced and an admin user (and a library manager), is refused for its role exactly where
// the documented matrix says so; every user route of the service answers 403 exactly where the matrix says.
// Arguments are harmless: missing files and names, `remediate list`, and a bad flag for the commands that
// would change the device (isolate, release, scan, collect): a bad flag is refused only after the role check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createWorld, type World } from './harness.js';
import { ConsoleClient } from '../../src/client/console-client.js';
import { profileSchema, type Profile } from '../../src/node/profile.js';
import { CATALOG } from '../../src/shared/commands/catalog.js';
import { mayCallRoute, mayRunCommand, ROUTES, type Principal } from '../../src/shared/commands/permissions.js';

const HARMLESS: Record<string, string> = {
  connect: 'connect',
  cls: 'cls',
  help: 'help',
  jobs: 'jobs',
  fg: 'fg nosuchjob',
  status: 'status nosuchjob',
  trace: 'trace off',
  cd: 'cd /tmp',
  dir: 'dir /tmp',
  processes: 'processes -pid 1',
  connections: 'connections',
  fileinfo: 'fileinfo /etc/hostname',
  findfile: 'findfile no-such-file-xyz -path /nonexistent-root',
  getfile: 'getfile /nonexistent/file',
  services: 'services',
  drivers: 'drivers',
  scheduledtasks: 'scheduledtasks',
  startupfolders: 'startupfolders',
  persistence: 'persistence',
  registry: 'registry HKEY_LOCAL_MACHINE\\x',
  library: 'library',
  putfile: 'putfile no-such-file.sh',
  run: 'run no-such-script.sh',
  remediate: 'remediate list',
  undo: 'undo file /nonexistent/undo',
  isolate: 'isolate -nosuchflag',
  release: 'release -nosuchflag',
  collect: 'collect -nosuchflag',
  analyze: 'analyze file /nonexistent/x',
  scan: 'scan -nosuchflag',
};

const ROLE_REFUSAL = /needs the (basic|advanced|admin) role|refused by the agent/;

describe('role × command and role × route matrix', () => {
  let w: World;
  const profiles = {} as Record<Principal, Profile>;
  beforeAll(async () => {
    w = await createWorld();
    await w.addAgent('matrix');
    const load = (f: string) => profileSchema.parse(JSON.parse(readFileSync(f, 'utf8')));
    profiles.basic = load(await w.addUser('bea', 'basic'));
    profiles.advanced = load(await w.addUser('adam', 'advanced'));
    profiles.admin = load(w.adminProfile);
    profiles.libraryManager = load(await w.addUser('lima', 'advanced', true));
  });
  afterAll(async () => {
    await w?.cleanup();
  });

  it('has a harmless line for every catalog command', () => {
    expect(Object.keys(HARMLESS).sort()).toEqual(CATALOG.map((c) => c.name).sort());
  });

  for (const principal of ['basic', 'advanced', 'admin', 'libraryManager'] as const) {
    it(`enforces the command matrix for ${principal}`, async () => {
      const client = await ConsoleClient.connect(profiles[principal]);
      const mismatches: string[] = [];
      try {
        const s = await client.openSession('matrix');
        for (const spec of CATALOG) {
          const o = await client.run(s.id, HARMLESS[spec.name] as string).outcome;
          const refusedForRole =
            o.status === 'refused' || o.status === 'failed' ? ROLE_REFUSAL.test(o.error ?? '') : false;
          const allowed = mayRunCommand(principal, spec);
          if (refusedForRole === allowed) mismatches.push(`${spec.name}: ${o.status} ${o.error ?? ''}`);
          if (!allowed) expect(o.status, spec.name).toBe('refused');
        }
        client.closeSession(s.id);
      } finally {
        client.close();
      }
      expect(mismatches).toEqual([]);
    });
  }

  it('lr exec exits 2 with the one-line role refusal', async () => {
    const r = await w.lr(['exec', 'matrix', 'remediate list'], `${w.dir}/bea.profile.json`);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('lr: remediate: refused: needs the advanced role (you are basic)');
  });

  function call(profile: Profile, method: string, path: string): Promise<number> {
    const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
    return new Promise((resolve, reject) => {
      const req = request(
        `https://127.0.0.1:${w.port}${path}`,
        {
          method,
          ca: profile.ca,
          headers: {
            authorization: `Bearer ${profile.token}`,
            ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  it('enforces the route matrix (403 exactly where documented)', async () => {
    const mismatches: string[] = [];
    for (const r of ROUTES) {
      if (r.method === 'WS' || ['enrollment token', 'device key', 'download token'].includes(r.need)) continue;
      // Harmless targets: names that do not exist, empty bodies (a permitted user gets 400/404, never a change).
      const path = r.path
        .replace(':name', 'no-such-name')
        .replace(':device', 'no-such-device')
        .replace(':sha256', 'f'.repeat(64))
        .replace(':id', 'nosuchentry');
      for (const p of ['basic', 'advanced', 'admin', 'libraryManager'] as const) {
        const status = await call(profiles[p], r.method, path);
        const allowed = mayCallRoute(p, r);
        if ((status === 403) === allowed || status === 401 || status >= 500)
          mismatches.push(`${p} ${r.method} ${path}: ${status}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
