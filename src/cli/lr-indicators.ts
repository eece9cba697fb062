/**
 * `lr indicators add SHA256 [--description D] | list [--json] | delete SHA256`: the tenant's hash
 * indicators used by `analyze`. Admins add and delete; advanced responders list. A refusal by the
 * service (4xx) exits 2 with its one-line reason.
 */
import type { Command } from 'commander';
import { HttpError, httpsJson } from '../node/https-json.js';
import { httpsBase, type Profile } from '../node/profile.js';
import { ServiceNodes } from '../client/index.js';
import { renderJson, renderTable } from '../shared/commands/format.js';
import { CliError, EXIT_FAILED, EXIT_REFUSED } from './errors.js';

function call<T>(profile: Profile, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
  // A cluster profile lists several nodes: reads go to any, writes are never sent twice (service-nodes.ts).
  return new ServiceNodes(profile)
    .use((node) => httpsJson<T>(`${httpsBase(node)}${path}`, { method, ca: profile.ca, token: profile.token, body }), {
      idempotent: method === 'GET',
    })
    .catch((e: unknown) => {
      if (e instanceof HttpError) throw new CliError(e.message, e.status < 500 ? EXIT_REFUSED : EXIT_FAILED);
      throw e;
    });
}

export function registerIndicatorCommands(program: Command, loadProfile: () => Profile): void {
  const ind = program
    .command('indicators')
    .description("the tenant's SHA-256 indicators (analyze flags files whose hash is one)");
  ind
    .command('add')
    .description('adds an indicator (admin)')
    .argument('<sha256>', 'SHA-256 of the file, 64 hex digits')
    .option('--description <text>', 'what it is', '')
    .action(async (sha256: string, o: { description: string }) => {
      const r = await call<{ sha256: string }>(loadProfile(), 'POST', '/api/v1/indicators', {
        sha256,
        description: o.description,
      });
      process.stdout.write(`indicator ${r.sha256} added\n`);
    });
  ind
    .command('list')
    .description('lists the indicators (advanced)')
    .option('--json', 'JSON output')
    .action(async (o: { json?: boolean }) => {
      const list = await call<Record<string, unknown>[]>(loadProfile(), 'GET', '/api/v1/indicators');
      if (o.json) process.stdout.write(renderJson(list) + '\n');
      else
        process.stdout.write(
          renderTable(list, ['sha256', 'description', 'addedBy', 'addedAt'], { maxWidth: process.stdout.columns }) +
            '\n',
        );
    });
  ind
    .command('delete')
    .description('deletes an indicator (admin)')
    .argument('<sha256>', 'SHA-256')
    .action(async (sha256: string) => {
      await call(loadProfile(), 'DELETE', `/api/v1/indicators/${encodeURIComponent(sha256.toLowerCase())}`);
      process.stdout.write(`indicator ${sha256.toLowerCase()} deleted\n`);
    });
}
