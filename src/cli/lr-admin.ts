/**
 * Access control on the analyst's command line (admins): `lr log verify`, `lr log export --jsonl`,
 * `lr groups list|add|set-level|set-rule|assign|unassign|tag|delete`, `lr users list|revoke`,
 * `lr devices rename`.
 * A refusal by the service (4xx) exits 2 with its one-line reason; `lr log verify` exits 1 when the log
 * was tampered with.
 */
import type { Command } from 'commander';
import { request } from 'node:https';
import { describeNetError, httpsJson, type HttpsJsonOptions } from '../node/https-json.js';
import { httpsBase, type Profile } from '../node/profile.js';
import { ServiceNodes } from '../client/index.js';
import { renderJson, renderTable } from '../shared/commands/format.js';
import { CliError, EXIT_FAILED, EXIT_REFUSED, serviceAction } from './errors.js';

const LEVELS = ['none', 'semi', 'full'];

interface LogProblem {
  id: string;
  seq: number;
  problem: string;
  detail: string;
  /** Cluster mode: whose entry it is. */
  node?: string;
}

interface LogVerifyReport {
  ok: boolean;
  entries: number;
  problems: LogProblem[];
  /** Cluster mode (the log of every node, from the cluster stream): one line per node. */
  nodes?: { node: string; entries: number; ok: boolean }[];
}

function api(profile: Profile) {
  // A cluster profile lists several nodes: reads fail over, writes are never sent twice (service-nodes.ts).
  const nodes = new ServiceNodes(profile);
  return <T>(path: string, opts: Omit<HttpsJsonOptions, 'ca' | 'token'> = {}) =>
    nodes.use((node) => httpsJson<T>(`${httpsBase(node)}${path}`, { ...opts, ca: profile.ca, token: profile.token }), {
      idempotent: (opts.method ?? 'GET') === 'GET',
    });
}

const seg = (s: string) => encodeURIComponent(s);

function level(value: string): string {
  if (!LEVELS.includes(value))
    throw new CliError(`remediation level must be none, semi or full (not ${JSON.stringify(value)})`);
  return value;
}

/** `--rule name:GLOB`, `--rule os:TEXT`, `--rule tag:TAG` (repeatable; all must match). */
function parseRules(rules: string[] | undefined): Record<string, string> | undefined {
  if (!rules || rules.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const r of rules) {
    const m = /^(name|os|tag)[:=](.+)$/.exec(r);
    if (!m) throw new CliError(`invalid rule ${JSON.stringify(r)}: use name:GLOB, os:TEXT or tag:TAG`);
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Streams GET /api/v1/log/export (JSON lines) to stdout. */
export function exportLogJsonl(profile: Profile, after = 0): Promise<void> {
  // Not idempotent: lines already written to stdout must not be repeated from another node.
  return new ServiceNodes(profile).use(
    (node) => exportFrom(`${httpsBase(node)}/api/v1/log/export?after=${after}`, profile),
    { idempotent: false },
  );
}

function exportFrom(url: string, profile: Profile): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'GET', ca: profile.ca, headers: { authorization: `Bearer ${profile.token}` } },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString().slice(0, 4096)));
          res.on('end', () => {
            let msg = `HTTP ${status}`;
            try {
              msg = (JSON.parse(text) as { error?: string }).error ?? msg;
            } catch {
              /* not JSON */
            }
            // `lr log --jsonl` has no serviceAction wrapper
            reject(new CliError(msg, status < 500 ? EXIT_REFUSED : EXIT_FAILED));
          });
          return;
        }
        res.pipe(process.stdout, { end: false });
        res.on('end', () => resolve());
        res.on('error', reject);
      },
    );
    req.on('error', (e) => reject(Object.assign(describeNetError(e, url), { cause: e })));
    req.end();
  });
}

/** `lr devices rename DEVICE NEWNAME` (admin): names are unique without regard to case; a taken one is refused. */
export function registerDeviceCommands(devices: Command, loadProfile: () => Profile): void {
  devices
    .command('rename')
    .description('renames a device (admin); the agent cannot rename its device itself')
    .argument('<device>', 'device id or name')
    .argument('<name>', 'new name: letters, digits, . _ - and spaces, unique (any case)')
    .action(
      serviceAction(async (device: string, name: string) => {
        const r = await api(loadProfile())<{ device: string; name: string; previous: string }>(
          `/api/v1/devices/${seg(device)}/name`,
          { method: 'PUT', body: { name } },
        );
        process.stdout.write(`device ${r.device} renamed from ${r.previous} to ${r.name}\n`);
      }),
    );
}

export function registerAdminCommands(program: Command, logCommand: Command, loadProfile: () => Profile): void {
  const width = () => process.stdout.columns;

  // `lr log verify --json`: commander hands `--json` to `log` (it has one too), so both are read.
  const wantsJson = (o: { json?: boolean }) =>
    o.json === true || (logCommand.opts() as { json?: boolean }).json === true;
  logCommand
    .command('verify')
    .description('checks the command log hash chain: reports each modified, deleted or reordered entry (admin)')
    .option('--json', 'JSON output')
    .action(
      serviceAction(async (o: { json?: boolean }) => {
        const report = await api(loadProfile())<LogVerifyReport>('/api/v1/log/verify', { timeoutMs: 600_000 });
        const nodes = Array.isArray(report.nodes) ? report.nodes : null;
        if (wantsJson(o)) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else {
          if (nodes)
            for (const n of nodes)
              process.stdout.write(`node ${n.node}: ${n.entries} entries, ${n.ok ? 'chain intact' : 'PROBLEMS'}\n`);
          if (report.ok)
            process.stdout.write(
              `command log OK: ${report.entries} entries${nodes ? ` on ${nodes.length} node${nodes.length === 1 ? '' : 's'}` : ''}, chain intact\n`,
            );
        }
        if (!report.ok && !wantsJson(o)) {
          const columns = nodes ? ['node', 'id', 'seq', 'problem', 'detail'] : ['id', 'seq', 'problem', 'detail'];
          process.stdout.write(
            renderTable(report.problems as unknown as Record<string, unknown>[], columns, { maxWidth: width() }) + '\n',
          );
          process.stderr.write(
            `lr: command log tampered with: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} in ${report.entries} entries\n`,
          );
        }
        if (!report.ok) process.exitCode = EXIT_FAILED;
      }),
    );

  logCommand
    .command('export')
    .description(
      'writes the whole command log as JSON lines (one entry each, with its chain and seal) for a SIEM (admin)',
    )
    .option('--jsonl', 'JSON lines (the only format)', true)
    .option('--after <seq>', 'only entries after this sequence number', '0')
    .action(
      serviceAction(async (o: { after: string }) => {
        const after = Number(o.after);
        if (!Number.isInteger(after) || after < 0) throw new CliError('--after must be a non-negative integer');
        await exportLogJsonl(loadProfile(), after);
      }),
    );

  const groups = program.command('groups').description('device groups and their automated remediation level (admin)');
  groups
    .command('list')
    .description('lists groups: remediation level, rule, devices')
    .option('--json', 'JSON output')
    .action(
      serviceAction(async (o: { json?: boolean }) => {
        const list = await api(loadProfile())<
          {
            name: string;
            remediationLevel: string;
            rule: Record<string, string> | null;
            devices: { name: string; by: string }[];
          }[]
        >('/api/v1/groups');
        if (o.json) {
          process.stdout.write(renderJson(list) + '\n');
          return;
        }
        const rows = list.map((g) => ({
          name: g.name,
          level: g.remediationLevel,
          rule: g.rule
            ? Object.entries(g.rule)
                .map(([k, v]) => `${k}:${v}`)
                .join(' ')
            : '',
          devices: g.devices.map((d) => (d.by === 'assigned' ? `${d.name} (assigned)` : d.name)).join(', '),
        }));
        process.stdout.write(renderTable(rows, ['name', 'level', 'rule', 'devices'], { maxWidth: width() }) + '\n');
      }),
    );
  groups
    .command('add')
    .description('adds a group; devices join it by rule (name glob, OS substring, tag) or by hand (assign)')
    .argument('<name>', 'group name')
    .requiredOption('--level <level>', 'remediation level: none, semi or full')
    .option('--rule <rule>', 'name:GLOB, os:TEXT or tag:TAG (repeatable: all must match)', collect)
    .action(
      serviceAction(async (name: string, o: { level: string; rule?: string[] }) => {
        const g = await api(loadProfile())<{ name: string; remediationLevel: string }>('/api/v1/groups', {
          method: 'POST',
          body: { name, level: level(o.level), rule: parseRules(o.rule) },
        });
        process.stdout.write(`group ${g.name} added (remediation level ${g.remediationLevel})\n`);
      }),
    );
  groups
    .command('set-level')
    .description("sets a group's remediation level")
    .argument('<name>', 'group name')
    .argument('<level>', 'none, semi or full')
    .action(
      serviceAction(async (name: string, lvl: string) => {
        await api(loadProfile())(`/api/v1/groups/${seg(name)}/level`, { method: 'PUT', body: { level: level(lvl) } });
        process.stdout.write(`group ${name}: remediation level ${lvl}\n`);
      }),
    );
  groups
    .command('set-rule')
    .description("replaces a group's membership rule (no --rule: the group keeps only devices assigned by hand)")
    .argument('<name>', 'group name')
    .option('--rule <rule>', 'name:GLOB, os:TEXT or tag:TAG (repeatable)', collect)
    .action(
      serviceAction(async (name: string, o: { rule?: string[] }) => {
        await api(loadProfile())(`/api/v1/groups/${seg(name)}/rule`, {
          method: 'PUT',
          body: { rule: parseRules(o.rule) ?? null },
        });
        process.stdout.write(`group ${name}: rule updated\n`);
      }),
    );
  groups
    .command('assign')
    .description('puts a device in a group by hand (overrides the rules)')
    .argument('<device>', 'device id or name')
    .argument('<group>', 'group name')
    .action(
      serviceAction(async (device: string, group: string) => {
        const r = await api(loadProfile())<{ deviceName: string; group: string }>(
          `/api/v1/groups/${seg(group)}/devices`,
          { method: 'POST', body: { device } },
        );
        process.stdout.write(`${r.deviceName} is now in group ${r.group}\n`);
      }),
    );
  groups
    .command('unassign')
    .description('returns a device to the rules (or the default group)')
    .argument('<device>', 'device id or name')
    .action(
      serviceAction(async (device: string) => {
        const r = await api(loadProfile())<{ group: string }>(`/api/v1/devices/${seg(device)}/group`, {
          method: 'DELETE',
        });
        process.stdout.write(`${device} is now in group ${r.group} (by rule)\n`);
      }),
    );
  groups
    .command('tag')
    .description("sets a device's tags (replaces them; none: clears)")
    .argument('<device>', 'device id or name')
    .argument('[tags...]', 'tags')
    .action(
      serviceAction(async (device: string, tags: string[]) => {
        const r = await api(loadProfile())<{ tags: string[]; group: string }>(`/api/v1/devices/${seg(device)}/tags`, {
          method: 'PUT',
          body: { tags },
        });
        process.stdout.write(`${device}: tags ${r.tags.join(', ') || '(none)'}; group ${r.group}\n`);
      }),
    );
  groups
    .command('delete')
    .description('deletes a group (its devices go back to the rules)')
    .argument('<name>', 'group name')
    .action(
      serviceAction(async (name: string) => {
        await api(loadProfile())(`/api/v1/groups/${seg(name)}`, { method: 'DELETE' });
        process.stdout.write(`group ${name} deleted\n`);
      }),
    );

  const users = program.command('users').description('analysts and their API tokens (admin)');
  users
    .command('list')
    .description('lists users: role, library manager, active and revoked tokens')
    .option('--json', 'JSON output')
    .action(
      serviceAction(async (o: { json?: boolean }) => {
        const list = await api(loadProfile())<Record<string, unknown>[]>('/api/v1/users');
        if (o.json) process.stdout.write(renderJson(list) + '\n');
        else
          process.stdout.write(
            renderTable(list, ['name', 'role', 'libraryManager', 'activeTokens', 'tokenExpiresAt', 'revokedTokens'], {
              maxWidth: width(),
            }) + '\n',
          );
      }),
    );
  users
    .command('revoke')
    .description("revokes every API token of a user; the user's consoles and sessions end at once")
    .argument('<name>', 'user name')
    .action(
      serviceAction(async (name: string) => {
        const r = await api(loadProfile())<{ revoked: number }>(`/api/v1/users/${seg(name)}/revoke`, {
          method: 'POST',
        });
        process.stdout.write(`${r.revoked} token${r.revoked === 1 ? '' : 's'} of ${name} revoked\n`);
      }),
    );
}
