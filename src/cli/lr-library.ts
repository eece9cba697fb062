/**
 * `lr library list|upload|delete`, `lr publishers add|list|delete`, `lr settings get|set` and
 * `lr keys generate`: the script library, its trusted signing keys and the unsigned-scripts setting.
 * A refusal by the service (4xx) exits 2 with its one-line reason; other failures exit 1.
 */
import type { Command } from 'commander';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LibraryApi } from '../client/index.js';
import { digestFile } from '../node/digest-stream.js';
import { writeSecretFile } from '../node/files.js';
import type { Profile } from '../node/profile.js';
import { ed25519PublicKey, publicKeyFingerprint, signScript } from '../node/script-signature.js';
import { renderJson, renderTable } from '../shared/commands/format.js';
import { libraryNameProblem, PUBLISHER_NAME } from '../shared/commands/library-rules.js';
import { CliError, serviceAction } from './errors.js';
import { describeError } from '../shared/errors.js';

function readText(file: string, what: string): string {
  try {
    return readFileSync(resolve(file), 'utf8');
  } catch (e) {
    throw new CliError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? describeError(e)}`);
  }
}

function mb(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Progress on stderr when it is a terminal: bytes, percentage, rate. */
function progressPrinter(name: string): ((sent: number, total: number) => void) & { done(): void } {
  const started = Date.now();
  let last = 0;
  const tty = process.stderr.isTTY === true;
  const print = (sent: number, total: number) => {
    if (!tty) return;
    const now = Date.now();
    if (now - last < 200 && sent < total) return;
    last = now;
    const rate = sent / Math.max(0.001, (now - started) / 1000);
    const pct = total > 0 ? Math.floor((sent / total) * 100) : 100;
    process.stderr.write(`\r\x1b[Kuploading ${name}: ${pct}% ${mb(sent)} of ${mb(total)} at ${mb(rate)}/s`);
  };
  return Object.assign(print, {
    done: () => {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  });
}

function onOff(value: string): boolean {
  const v = value.toLowerCase();
  if (v === 'on' || v === 'true') return true;
  if (v === 'off' || v === 'false') return false;
  throw new CliError(`expected on or off, not ${JSON.stringify(value)}`);
}

export function registerLibraryCommands(program: Command, loadProfile: () => Profile): void {
  const api = () => new LibraryApi(loadProfile());
  const width = () => process.stdout.columns;

  const library = program.command('library').description("the tenant's script library");
  library
    .command('list')
    .description('lists library files: name, description, size, signature state, parameters')
    .option('--json', 'JSON output (every field)')
    .action(
      serviceAction(async (o: { json?: boolean }) => {
        const files = await api().list();
        if (o.json) process.stdout.write(renderJson(files) + '\n');
        else
          process.stdout.write(
            renderTable(
              files,
              ['name', 'size', 'signature', 'uploadedBy', 'uploadedAt', 'description', 'parametersDescription'],
              { maxWidth: width() },
            ) + '\n',
          );
      }),
    );
  library
    .command('upload')
    .description('uploads a file (streamed; 250 MB limit by default); needs the library-manager permission')
    .argument('<file>', 'file to upload')
    .option('--name <name>', 'name in the library (default: the file name)')
    .option('--description <text>', 'what the file is for')
    .option('--parameters-description <text>', 'what parameters the script takes')
    .option('--parameters-example <text>', 'an example of -parameters')
    .option('--overwrite', 'replace a library file of the same name')
    .option('--sign <keyfile>', 'sign with this Ed25519 private key (PEM); needs --publisher')
    .option('--publisher <name>', 'the trusted publisher whose key signs (see lr publishers)')
    .action(
      serviceAction(
        async (
          file: string,
          o: {
            name?: string;
            description?: string;
            parametersDescription?: string;
            parametersExample?: string;
            overwrite?: boolean;
            sign?: string;
            publisher?: string;
          },
        ) => {
          const path = resolve(file);
          const name = o.name ?? basename(path);
          const problem = libraryNameProblem(name);
          if (problem) throw new CliError(`invalid library file name ${JSON.stringify(name)}: ${problem}`);
          if ((o.sign === undefined) !== (o.publisher === undefined))
            throw new CliError('--sign and --publisher go together');
          let signature: string | undefined;
          if (o.sign) {
            const key = readText(o.sign, 'private key');
            // One streamed read to hash, one to upload: the file is never held in memory.
            const digest = await digestFile(path).catch((e: NodeJS.ErrnoException) => {
              throw new CliError(`cannot read ${path}: ${e.code ?? e.message}`);
            });
            try {
              signature = signScript(key, { name, sha256: digest.sha256, size: digest.size });
            } catch (e) {
              throw new CliError(`cannot sign with ${o.sign}: ${describeError(e)}`);
            }
          }
          const progress = progressPrinter(name);
          let result;
          try {
            result = await api().upload(path, {
              name,
              description: o.description,
              parametersDescription: o.parametersDescription,
              parametersExample: o.parametersExample,
              overwrite: o.overwrite,
              signature,
              publisher: o.publisher,
              onProgress: progress,
            });
          } finally {
            progress.done();
          }
          process.stdout.write(
            `${result.replaced ? 'replaced' : 'uploaded'} ${result.name} (${result.size} bytes, sha256 ${result.sha256}, ${result.signature}${result.publisher ? ` by ${result.publisher}` : ''})\n`,
          );
        },
      ),
    );
  library
    .command('delete')
    .description('deletes a library file; needs the library-manager permission')
    .argument('<name>', 'library file name')
    .action(
      serviceAction(async (name: string) => {
        await api().delete(name);
        process.stdout.write(`deleted ${name}\n`);
      }),
    );

  const publishers = program.command('publishers').description('trusted script publishers (Ed25519 keys); admins only');
  publishers
    .command('add')
    .description('trusts a publisher key: scripts signed with it may run')
    .argument('<name>', 'publisher name')
    .requiredOption('--key <file>', 'Ed25519 public key (PEM)')
    .action(
      serviceAction(async (name: string, o: { key: string }) => {
        if (!PUBLISHER_NAME.test(name))
          throw new CliError(`invalid publisher name ${JSON.stringify(name)}: letters, digits, - _ . (max 64)`);
        const pem = readText(o.key, 'public key');
        try {
          ed25519PublicKey(pem);
        } catch (e) {
          throw new CliError(`${o.key}: ${describeError(e)}`);
        }
        const p = await api().addPublisher(name, pem);
        process.stdout.write(`publisher ${p.name} added (key fingerprint sha256:${p.fingerprint})\n`);
      }),
    );
  publishers
    .command('list')
    .description('lists trusted publishers')
    .option('--json', 'JSON output (keys included)')
    .action(
      serviceAction(async (o: { json?: boolean }) => {
        const list = await api().publishers();
        if (o.json) process.stdout.write(renderJson(list) + '\n');
        else
          process.stdout.write(
            renderTable(list, ['name', 'fingerprint', 'addedBy', 'addedAt'], { maxWidth: width() }) + '\n',
          );
      }),
    );
  publishers
    .command('delete')
    .description('stops trusting a publisher (its scripts then count as unsigned)')
    .argument('<name>', 'publisher name')
    .action(
      serviceAction(async (name: string) => {
        await api().deletePublisher(name);
        process.stdout.write(`deleted publisher ${name}\n`);
      }),
    );

  const settings = program.command('settings').description('tenant settings; admins only');
  settings
    .command('get')
    .description('shows the tenant settings')
    .option('--json', 'JSON output')
    .action(
      serviceAction(async (o: { json?: boolean }) => {
        const s = await api().settings();
        if (o.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
        else process.stdout.write(formatSettings(s));
      }),
    );
  settings
    .command('set')
    .description(
      'changes a setting: unsignedScripts|liveResponse|liveResponseServers on|off, or limits.NAME N (e.g. limits.idleTimeoutSec 900)',
    )
    .argument('<setting>', 'unsignedScripts, liveResponse, liveResponseServers or limits.NAME')
    .argument('<value>', 'on or off; a number for limits')
    .action(
      serviceAction(async (setting: string, value: string) => {
        const switches: Record<string, 'unsignedScripts' | 'liveResponse' | 'liveResponseServers'> = {
          unsignedscripts: 'unsignedScripts',
          liveresponse: 'liveResponse',
          liveresponseservers: 'liveResponseServers',
        };
        const key = switches[setting.toLowerCase()];
        let update: Parameters<LibraryApi['updateSettings']>[0];
        if (key) update = { [key]: onOff(value) };
        else if (/^limits\.[A-Za-z]+$/.test(setting)) {
          const n = Number(value);
          if (!Number.isFinite(n) || n <= 0) throw new CliError(`${setting} must be a positive number`);
          update = { limits: { [setting.slice(7)]: n } };
        } else
          throw new CliError(
            `unknown setting ${JSON.stringify(setting)} (known: unsignedScripts, liveResponse, liveResponseServers, limits.NAME)`,
          );
        const s = await api().updateSettings(update);
        if (s.warning) process.stderr.write(`warning: ${s.warning}\n`);
        process.stdout.write(formatSettings(s));
      }),
    );

  program
    .command('keys')
    .description('signing keys for script publishers')
    .command('generate')
    .description('writes an Ed25519 key pair: NAME.key (private, mode 0600) and NAME.pub.pem')
    .requiredOption('--out <dir>', 'folder to write into')
    .option('--name <name>', 'file name stem', 'publisher')
    .action((o: { out: string; name: string }) => {
      if (!PUBLISHER_NAME.test(o.name)) throw new CliError(`invalid key name ${JSON.stringify(o.name)}`);
      const dir = resolve(o.out);
      mkdirSync(dir, { recursive: true });
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      writeSecretFile(join(dir, `${o.name}.key`), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
      writeFileSync(join(dir, `${o.name}.pub.pem`), pub, { mode: 0o644 });
      process.stdout.write(
        `wrote ${join(dir, `${o.name}.key`)} and ${join(dir, `${o.name}.pub.pem`)} (fingerprint sha256:${publicKeyFingerprint(pub)})\n`,
      );
    });
}

function formatSettings(s: Awaited<ReturnType<LibraryApi['settings']>>): string {
  const on = (b: boolean | undefined) => (b === false ? 'off' : 'on');
  const lines = [
    `liveResponse ${on(s.liveResponse)}`,
    `liveResponseServers ${on(s.liveResponseServers)}`,
    `unsignedScripts ${s.unsignedScripts ? 'on' : 'off'}`,
  ];
  for (const [k, v] of Object.entries(s.limits ?? {})) lines.push(`limits.${k} ${v}`);
  return lines.join('\n') + '\n';
}
