/**
 * `lr-server user list|revoke|token` (offline, on the data folder): the analysts and their API tokens.
 * A revocation written here is seen by a running service within a second (tokens.ts): the revoked
 * token's consoles and sessions end.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { USER_NAME, withUserAdmin, type OpenDataFolder } from '../server/index.js';
import { renderJson, renderTable } from '../shared/commands/format.js';
import { CliError, parseDuration } from './errors.js';

export interface UserCommandDeps {
  openStore(dir: string): OpenDataFolder;
  writeProfile(file: string, url: string, ca: string, user: string, token: string, urls?: string[]): void;
}

function checkName(name: string): void {
  if (!USER_NAME.test(name))
    throw new CliError(`invalid user name ${JSON.stringify(name)}: letters, digits, . _ - (max 64)`);
}

export function registerUserAdminCommands(user: Command, deps: UserCommandDeps): void {
  user
    .command('list')
    .description('lists users: role, library manager, active and revoked tokens, token expiry')
    .requiredOption('--data <dir>', 'data folder')
    .option('--json', 'JSON output')
    .action((o: { data: string; json?: boolean }) => {
      withUserAdmin(resolve(o.data), (admin) => {
        const users = admin.list();
        if (o.json) process.stdout.write(renderJson(users) + '\n');
        else
          process.stdout.write(
            renderTable(
              users,
              ['name', 'role', 'libraryManager', 'activeTokens', 'tokenExpiresAt', 'revokedTokens', 'createdAt'],
              { maxWidth: process.stdout.columns },
            ) + '\n',
          );
      });
    });

  user
    .command('revoke')
    .description(
      "revokes every API token of a user: refused at once; a running service ends the user's consoles and sessions within a second",
    )
    .argument('<name>', 'user name')
    .requiredOption('--data <dir>', 'data folder')
    .action((name: string, o: { data: string }) => {
      checkName(name);
      withUserAdmin(resolve(o.data), (admin) => {
        if (!admin.userId(name)) throw new CliError(`no user ${name}`);
        const n = admin.revoke(name);
        process.stdout.write(`${n} token${n === 1 ? '' : 's'} of ${name} revoked\n`);
      });
    });

  user
    .command('token')
    .description('issues a new API token for a user and writes a profile with it')
    .argument('<name>', 'user name')
    .requiredOption('--data <dir>', 'data folder')
    .requiredOption('--out <file>', 'profile file to write (mode 0600)')
    .option('--ttl <duration>', 'validity (e.g. 12h, 30d); default: until revoked')
    .action((name: string, o: { data: string; out: string; ttl?: string }) => {
      checkName(name);
      const expiresAt = o.ttl ? new Date(Date.now() + parseDuration(o.ttl)).toISOString() : null;
      const { store, url, ca, urls } = deps.openStore(resolve(o.data));
      store.close();
      const token = withUserAdmin(resolve(o.data), (admin) => {
        if (!admin.userId(name)) throw new CliError(`no user ${name}`);
        return admin.issue(name, expiresAt);
      });
      deps.writeProfile(o.out, url, ca, name, token, urls);
      process.stdout.write(
        `new token for ${name} written to ${resolve(o.out)}${expiresAt ? ` (valid until ${expiresAt})` : ''}\n`,
      );
    });
}
