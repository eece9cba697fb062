/**
 * `lr-server agent-release add|list|remove` (offline, on the data folder): the agent builds the service
 * offers to its agents (self-update, agent-releases.ts). A release added here is offered by a running
 * service within seconds (it polls the table).
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { CommandSigner, withAgentReleases } from '../server/index.js';
import { Logger } from '../node/log.js';
import { AGENT_TARGETS } from '../shared/wire/agent-release.js';
import { renderJson, renderTable } from '../shared/commands/format.js';
import { CliError } from './errors.js';
import { describeError } from '../shared/errors.js';

function who(): string {
  try {
    return userInfo().username;
  } catch {
    return 'admin';
  }
}

export function registerAgentReleaseCommands(program: Command): void {
  const cmd = program.command('agent-release').description('agent builds offered to the agents (signed self-update)');
  cmd
    .command('add')
    .description(
      "adds an agent build: its version read from the file (never run), its format checked, signed with the service's key; agents of that target (or of one group) update to it",
    )
    .argument('<file>', 'agent build (npm run package:agent), e.g. dist/lr-agent-linux-x64')
    .requiredOption('--data <dir>', 'data folder')
    .requiredOption('--os <target>', `target: ${AGENT_TARGETS.join(', ')}`)
    .option('--group <group>', 'offer it to this device group only (default: every device of the target)')
    .action(async (file: string, o: { data: string; os: string; group?: string }) => {
      const path = resolve(file);
      if (!existsSync(path) || !statSync(path).isFile()) throw new CliError(`${path}: no such file`);
      const dir = resolve(o.data);
      await withAgentReleases(dir, async (releases, groups) => {
        let r;
        try {
          r = await releases.add(
            path,
            o.os,
            o.group ?? null,
            who(),
            CommandSigner.load(dir),
            (g) => groups.get(g) !== null,
          );
        } catch (e) {
          throw new CliError(describeError(e));
        }
        new Logger('lr-server').info('agent release added', {
          id: r.id,
          target: r.target,
          version: r.version,
          build: r.build,
          sha256: r.sha256,
          size: r.size,
          group: r.group ?? 'all',
          by: r.createdBy,
        });
        process.stdout.write(
          `agent release ${r.id} added: ${r.target} ${r.version} (build ${r.build || '?'}), ${r.size} bytes, sha256 ${r.sha256}, for ${r.group ? `group ${r.group}` : 'every device'}\n`,
        );
      });
    });
  cmd
    .command('list')
    .description('lists agent releases, newest version first')
    .requiredOption('--data <dir>', 'data folder')
    .option('--json', 'JSON output')
    .action(async (o: { data: string; json?: boolean }) => {
      const list = await withAgentReleases(resolve(o.data), (r) =>
        r.list().map(({ sig: _sig, ...rest }) => ({ ...rest, group: rest.group ?? 'all' })),
      );
      if (o.json) process.stdout.write(renderJson(list) + '\n');
      else
        process.stdout.write(
          renderTable(list, ['id', 'target', 'version', 'build', 'group', 'size', 'sha256', 'createdAt', 'createdBy'], {
            maxWidth: process.stdout.columns,
          }) + '\n',
        );
    });
  cmd
    .command('remove')
    .description('removes an agent release (no longer offered; agents that run it keep it)')
    .argument('<id>', 'release id (agent-release list)')
    .requiredOption('--data <dir>', 'data folder')
    .action(async (id: string, o: { data: string }) => {
      const r = await withAgentReleases(resolve(o.data), (releases) => releases.remove(id));
      if (!r) throw new CliError(`no agent release ${id}`);
      new Logger('lr-server').warn('agent release removed', {
        id: r.id,
        target: r.target,
        version: r.version,
        by: who(),
      });
      process.stdout.write(`agent release ${r.id} (${r.target} ${r.version}) removed\n`);
    });
}
