/**
 * `lr-server`: init | start | enroll-token [--installer] | agent-files add|list | user add — the service's command line
 * (product.md contract).
 */
import { Command, Option } from 'commander';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  AgentFiles,
  CommandSigner,
  initClusterNodeDir,
  initDataDir,
  loadConfig,
  makeInstaller,
  NoAgentFileError,
  openDataFolder,
  publishAgentFile,
  startService,
  type AgentFileInfo,
  type InstallerOs,
  type MadeInstaller,
  type NatsSecurity,
} from '../server/index.js';
import { writeSecretFile, writeSecretJson } from '../node/files.js';
import { AGENT_TARGETS, type AgentTarget } from '../shared/wire/agent-release.js';
import type { Bundle, Profile } from '../node/profile.js';
import { CliError, fail, parseDuration } from './errors.js';
import type { Role } from '../shared/commands/catalog.js';
import { registerUserAdminCommands } from './lr-server-admin.js';
import { registerAgentReleaseCommands } from './lr-server-releases.js';
import { describeError } from '../shared/errors.js';
import { installCrashHandlers } from '../node/crash-handlers.js';
import { Logger } from '../node/log.js';

const PROG = 'lr-server';
installCrashHandlers(PROG, new Logger(PROG));
// Everything the service writes (database, keys, logs) is private to its user.
process.umask(0o077);

function writeProfile(file: string, url: string, ca: string, user: string, token: string, urls: string[] = []): void {
  const profile: Profile = { kind: 'lr-profile', url, ca, user, token, ...(urls.length > 1 ? { urls } : {}) };
  writeSecretJson(resolve(file), profile);
}

const program = new Command(PROG).description('Live response service').showHelpAfterError(false);
program.exitOverride();
program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command('init')
  .description('creates a data folder: TLS CA and server certificate, database, admin user and DIR/admin.profile.json')
  .requiredOption('--data <dir>', 'data folder to create')
  .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8443')
  .option('--public-url <url>', 'address agents and analysts use (default: wss://LISTEN)')
  .option(
    '--cluster-from <dir>',
    "another node of a cluster: share that node's CA, signing and log keys (its database comes from the cluster)",
  )
  .action(async (o: { data: string; listen: string; publicUrl?: string; clusterFrom?: string }) => {
    const dir = resolve(o.data);
    if (existsSync(dir) && readdirSync(dir).length > 0)
      throw new CliError(`${dir} is not empty: refusing to overwrite an existing service`);
    if (o.clusterFrom) {
      const r = await initClusterNodeDir({ dir, listen: o.listen, publicUrl: o.publicUrl, from: o.clusterFrom });
      process.stdout.write(
        `initialised cluster node ${r.dir}\nservice address: ${r.publicUrl}\n${r.adminProfilePath ? `admin profile: ${r.adminProfilePath}\n` : ''}start it with: lr-server start --data ${r.dir} --nats nats://HOST:4222[,…]\n`,
      );
      return;
    }
    const r = await initDataDir({ dir, listen: o.listen, publicUrl: o.publicUrl });
    process.stdout.write(
      `initialised ${r.dir}\nservice address: ${r.publicUrl}\nadmin profile: ${r.adminProfilePath}\n`,
    );
  });

program
  .command('start')
  .description('runs the service until SIGINT/SIGTERM')
  .requiredOption('--data <dir>', 'data folder')
  .option(
    '--nats <urls>',
    'join a cluster of nodes sharing state through NATS JetStream (comma-separated nats:// URLs)',
  )
  .addOption(
    new Option(
      '--nats-replicas <n>',
      'replicas of the shared buckets and streams (default: 3 on a NATS cluster of 3 or more servers, else 1)',
    ).choices(['1', '3', '5']),
  )
  .option('--nats-ca <file>', "PEM CA of the NATS servers' certificates (pinned; turns TLS on)")
  .option('--nats-cert <file>', 'client certificate (PEM) for NATS servers that verify clients; with --nats-key')
  .option('--nats-key <file>', 'private key (PEM) of --nats-cert')
  .option('--nats-token-file <file>', "file holding the NATS servers' authorization token")
  .option('--nats-insecure', 'allow NATS without TLS or without credentials (a private test network only)', false)
  .action(
    async (o: {
      data: string;
      nats?: string;
      natsReplicas?: string;
      natsCa?: string;
      natsCert?: string;
      natsKey?: string;
      natsTokenFile?: string;
      natsInsecure: boolean;
    }) => {
      const nats = o.nats === undefined ? undefined : parseNatsUrls(o.nats);
      const security = natsSecurity(o);
      if (!nats && (Object.values(security).some(Boolean) || o.natsInsecure))
        throw new CliError('--nats-ca, --nats-cert, --nats-key, --nats-token-file and --nats-insecure need --nats');
      // Anyone who can connect to NATS can read what the nodes share and fill the buckets: TLS and credentials
      // the servers require, or the operator's explicit word that this network is private.
      if (nats && !o.natsInsecure && (!security.ca || !(security.token || security.cert))) {
        throw new CliError(
          '--nats needs TLS and credentials: --nats-ca and --nats-token-file (or --nats-cert/--nats-key); pass --nats-insecure to run without them',
        );
      }
      const svc = await startService(resolve(o.data), undefined, {
        nats,
        natsReplicas: o.natsReplicas ? Number(o.natsReplicas) : undefined,
        natsSecurity: security,
      });
      process.stdout.write(
        `lr-server listening on ${svc.host}:${svc.port}${svc.nodeId ? ` (cluster node ${svc.nodeId})` : ''}\n`,
      );
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`${PROG}: ${sig}: shutting down\n`);
        svc.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    },
  );

program
  .command('enroll-token')
  .description(
    'writes an agent enrollment bundle (one-time token), or with --installer a script that downloads, checks, installs and enrolls the agent',
  )
  .requiredOption('--data <dir>', 'data folder')
  .option('--ttl <duration>', 'validity (e.g. 30m, 24h, 7d)', '24h')
  .addOption(
    new Option(
      '--installer <os>',
      'write an installer script for this OS instead of a bundle (docs/deployment.md)',
    ).choices(['linux', 'windows']),
  )
  .requiredOption('--out <file>', 'bundle (or installer script) file to write (mode 0600)')
  .action(async (o: { data: string; ttl: string; out: string; installer?: InstallerOs }) => {
    const ttl = parseDuration(o.ttl);
    if (o.installer) return writeInstaller(resolve(o.data), o.installer, ttl, resolve(o.out));
    const { store, url, ca, urls } = openDataFolder(resolve(o.data));
    const t = store.createEnrollToken(ttl);
    store.close();
    // The command-signing public key is pinned by the agent like the CA (made now for data folders made before it).
    const bundle: Bundle = {
      kind: 'lr-enrollment',
      url,
      ca,
      token: t.token,
      expiresAt: t.expiresAt,
      commandKey: CommandSigner.publicKeyOf(resolve(o.data)),
      ...(urls.length > 1 ? { urls } : {}),
    };
    writeSecretJson(resolve(o.out), bundle);
    process.stdout.write(`enrollment bundle written to ${resolve(o.out)} (valid until ${t.expiresAt}, one use)\n`);
  });

/** `enroll-token --installer`: refused in one line (before any token is made) when the OS has no agent file yet. */
async function writeInstaller(dir: string, os: InstallerOs, ttl: number, out: string): Promise<void> {
  const { store } = openDataFolder(dir);
  let made: MadeInstaller;
  try {
    made = await makeInstaller(dir, store, os, ttl);
  } catch (e) {
    if (e instanceof NoAgentFileError) throw new CliError(e.message);
    throw e;
  } finally {
    store.close();
  }
  writeSecretFile(out, made.text); // 0600: the only file that carries the token
  const hashes = made.files.map((f) => `${f.name} ${f.sha256}`).join(', ');
  const run = os === 'linux' ? `sudo bash ${out}` : `powershell -ExecutionPolicy Bypass -File ${out} (elevated)`;
  process.stdout.write(
    `${os} installer written to ${out}: it holds a one-time enrollment token valid until ${made.expiresAt}; keep it private. Copy it to the device and run: ${run} (agent: ${hashes})\n`,
  );
}

const agentFilesCommand = program
  .command('agent-files')
  .description('the agent files new devices download (DATA/agent-files)');
agentFilesCommand
  .command('add')
  .description('makes FILE the current agent file of a target (copied whole, then renamed into place)')
  .argument('<file>', 'an agent executable (npm run package:agent)')
  .requiredOption('--data <dir>', 'data folder')
  .addOption(new Option('--target <target>', 'which agent it is').choices([...AGENT_TARGETS]).makeOptionMandatory())
  .action(async (file: string, o: { data: string; target: AgentTarget }) => {
    loadConfig(resolve(o.data)); // a data folder, or a one-line error
    let info: AgentFileInfo;
    try {
      info = await publishAgentFile(resolve(o.data), o.target, resolve(file));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CliError(code === 'ENOENT' ? `${file}: no such file` : describeError(e));
    }
    process.stdout.write(`${info.name} published: ${info.size} bytes, SHA-256 ${info.sha256}\n`);
  });
agentFilesCommand
  .command('list')
  .description('lists the agent files with their size and SHA-256')
  .requiredOption('--data <dir>', 'data folder')
  .action(async (o: { data: string }) => {
    loadConfig(resolve(o.data));
    const list = await new AgentFiles(resolve(o.data)).list();
    if (list.length === 0)
      process.stdout.write('no agent files yet: lr-server agent-files add FILE --target TARGET --data DIR\n');
    for (const f of list) process.stdout.write(`${f.name}  ${f.size} bytes  SHA-256 ${f.sha256}  ${f.modifiedAt}\n`);
  });

const user = program.command('user').description('manages analysts');
user
  .command('add')
  .description('creates a user and writes a profile with an API token')
  .argument('<name>', 'user name (letters, digits, . _ -)')
  .requiredOption('--data <dir>', 'data folder')
  .addOption(new Option('--role <role>', 'role').choices(['basic', 'advanced', 'admin']).makeOptionMandatory())
  .option('--library-manager', 'may upload and delete library files', false)
  .requiredOption('--out <file>', 'profile file to write (mode 0600)')
  .option('--ttl <duration>', 'validity of the API token (e.g. 12h, 30d); default: until revoked')
  .action((name: string, o: { data: string; role: Role; libraryManager: boolean; out: string; ttl?: string }) => {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(name))
      throw new CliError(`invalid user name ${JSON.stringify(name)}: letters, digits, . _ - (max 64)`);
    const expiresAt = o.ttl ? new Date(Date.now() + parseDuration(o.ttl)).toISOString() : null;
    const { store, url, ca, urls } = openDataFolder(resolve(o.data));
    try {
      const u = store.createUser(name, o.role, o.libraryManager);
      const token = store.issueApiToken(u.id, expiresAt);
      writeProfile(o.out, url, ca, name, token, urls);
    } finally {
      store.close();
    }
    process.stdout.write(
      `user ${name} (${o.role}${o.libraryManager ? ', library manager' : ''}) created; profile written to ${resolve(o.out)}\n`,
    );
  });

registerUserAdminCommands(user, { openStore: openDataFolder, writeProfile }); // user list | revoke | token
registerAgentReleaseCommands(program); // agent-release add | list | remove

/** The NATS TLS and token files, read now: a missing or unreadable file is a one-line error before anything starts. */
function natsSecurity(o: {
  natsCa?: string;
  natsCert?: string;
  natsKey?: string;
  natsTokenFile?: string;
}): NatsSecurity {
  const read = (file: string | undefined, what: string, pem: boolean): string | undefined => {
    if (file === undefined) return undefined;
    let text: string;
    try {
      text = readFileSync(resolve(file), 'utf8');
    } catch (e) {
      throw new CliError(`${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? describeError(e)}`);
    }
    if (pem && !/-----BEGIN [A-Z ]+-----/.test(text)) throw new CliError(`${what} ${file} is not a PEM file`);
    if (!pem && !/^[\x21-\x7e]{8,1024}\s*$/.test(text))
      throw new CliError(`${what} ${file} does not hold a token (8 to 1024 printable characters, one line)`);
    return pem ? text : text.trim();
  };
  if (Boolean(o.natsCert) !== Boolean(o.natsKey)) throw new CliError('--nats-cert and --nats-key go together');
  if (o.natsCert && !o.natsCa) throw new CliError('--nats-cert needs --nats-ca (the CA that signed the NATS servers)');
  return {
    ca: read(o.natsCa, '--nats-ca', true),
    cert: read(o.natsCert, '--nats-cert', true),
    key: read(o.natsKey, '--nats-key', true),
    token: read(o.natsTokenFile, '--nats-token-file', false),
  };
}

/** `--nats a,b,c`: nats:// or tls:// URLs (a host:port alone means nats://host:port). */
function parseNatsUrls(list: string): string[] {
  const urls = list
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0 || urls.length > 16) throw new CliError('--nats: give 1 to 16 comma-separated NATS URLs');
  return urls.map((u) => {
    const full = /^[a-z]+:\/\//.test(u) ? u : `nats://${u}`;
    let parsed: URL;
    try {
      parsed = new URL(full);
    } catch {
      throw new CliError(`--nats: ${JSON.stringify(u)} is not a URL (expected nats://HOST:PORT)`);
    }
    if (!['nats:', 'tls:'].includes(parsed.protocol) || !parsed.hostname)
      throw new CliError(`--nats: ${JSON.stringify(u)} is not a nats:// or tls:// URL`);
    return full;
  });
}

program.parseAsync(process.argv).catch((e: unknown) => {
  const ce = e as { code?: string; exitCode?: number };
  if (ce.code === 'commander.helpDisplayed' || ce.code === 'commander.version') process.exit(0);
  if (ce.code?.startsWith('commander.')) process.exit(2);
  fail(PROG, e);
});
