/** `lr`: the analyst's command line — devices | exec | shell | log (product.md contract). */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { readJsonFile } from '../node/files.js';
import { profileSchema, type Profile } from '../node/profile.js';
import { ConsoleClient, runGetfile, ServiceApi, throttle, transferTarget } from '../client/index.js';
import { renderJson, renderProgress, renderTable } from '../shared/commands/format.js';
import { Printer, renderTransfer } from './printer.js';
import { RedirectFile, operatorsOf } from './redirect-file.js';
import { CliError, EXIT_FAILED, EXIT_OK, EXIT_REFUSED, fail } from './errors.js';
import { runShell } from './shell.js';
import { findCommand } from '../shared/commands/catalog.js';
import { registerLibraryCommands } from './lr-library.js';
import { registerIndicatorCommands } from './lr-indicators.js';
import { registerBatchCommands } from './lr-batch.js';
import { exportLogJsonl, registerAdminCommands, registerDeviceCommands } from './lr-admin.js';
import { describeError } from '../shared/errors.js';
import { installCrashHandlers } from '../node/crash-handlers.js';

const PROG = 'lr';
installCrashHandlers(PROG);
const program = new Command(PROG)
  .description('Live response analyst CLI')
  .option('--profile <file>', 'connection profile (default: $LR_PROFILE)');
program.exitOverride();

function loadProfile(): Profile {
  const file = (program.opts() as { profile?: string }).profile ?? process.env.LR_PROFILE;
  if (!file) throw new CliError('no profile: pass --profile FILE or set LR_PROFILE');
  return readJsonFile(resolve(file), profileSchema, 'profile');
}

const devicesCommand = program
  .command('devices')
  .description(
    'lists devices: id, name, os, online, last seen, isolated (and, in a cluster, the node holding each agent)',
  )
  .option('--json', 'JSON output')
  .action(async (o: { json?: boolean }) => {
    const devices = await new ServiceApi(loadProfile()).devices();
    if (o.json) process.stdout.write(renderJson(devices) + '\n');
    else {
      const columns = [
        'id',
        'name',
        'os',
        'online',
        'lastSeen',
        'isolated',
        ...(devices.some((d) => d.node) ? ['node'] : []),
      ];
      process.stdout.write(renderTable(devices, columns, { maxWidth: process.stdout.columns }) + '\n');
    }
  });

program
  .command('exec')
  .description('opens a session, runs one command line, prints its output')
  .argument('<device>', 'device id or name')
  .argument('<line>', 'command line, quoted')
  .option('--json', 'print the outcome as one JSON object (records, text, status)')
  .option('--out <dir>', "where getfile and '> file' write files", '.')
  .action(async (device: string, line: string, o: { json?: boolean; out: string }) => {
    // The line is parsed by the service, so that even a malformed one is refused and logged there.
    // `&` is refused here: the one-shot session would close (cancelling the job) the moment the prompt came back.
    const operators = operatorsOf(line);
    if (operators.background) {
      throw new CliError(
        `'&' runs a command in the background, but lr exec closes its session when it returns: drop the '&' (lr exec waits for the command), or use lr shell ${device} to keep working while it runs`,
      );
    }
    const redirectName = operators.redirect;
    let redirect: RedirectFile | null = null;
    if (redirectName !== undefined) {
      try {
        redirect = new RedirectFile(redirectName, resolve(o.out));
      } catch (e) {
        throw new CliError(describeError(e));
      }
    }
    const client = await ConsoleClient.connect(loadProfile());
    let session;
    try {
      session = await client.openSession(device);
    } catch (e) {
      client.close();
      throw new CliError(describeError(e), EXIT_REFUSED);
    }
    const transfer = transferTarget(line);
    if (transfer) {
      const outDir = resolve(o.out);
      const tty = process.stderr.isTTY;
      const r = await runGetfile({
        client,
        sessionId: session.id,
        deviceId: session.deviceId,
        path: transfer.path,
        auto: transfer.auto,
        line: transfer.line,
        outDir,
        onNotice: (m) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}${PROG}: ${m}\n`),
        onProgress: tty
          ? throttle(
              (p) => process.stderr.write(`\r${renderProgress(p, Math.min(100, process.stderr.columns ?? 80))}`),
              100,
            )
          : undefined,
      });
      if (tty) process.stderr.write('\r\x1b[K');
      client.close();
      if (r.ok) {
        if (o.json)
          process.stdout.write(
            JSON.stringify(
              {
                commandId: r.commandId,
                status: 'completed',
                file: r.download.file,
                sha256: r.download.sha256,
                size: r.download.size,
                records: r.records,
              },
              null,
              2,
            ) + '\n',
          );
        else
          process.stdout.write(
            renderTransfer(
              r,
              transfer.output,
              findCommand(transfer.line ?? 'getfile')?.tableFields,
              process.stdout.columns,
            ),
          );
        process.exitCode = EXIT_OK;
      } else {
        process.stderr.write(`${PROG}: ${r.outcome.error ?? r.outcome.status}\n`);
        process.exitCode = r.outcome.status === 'refused' ? EXIT_REFUSED : EXIT_FAILED;
      }
      return;
    }
    const records: Record<string, unknown>[] = [];
    let text = '';
    let printer: Printer | null = null;
    const run = client.run(session.id, line, {
      onStarted: (f) => {
        if (redirect) redirect.started(f.output, f.tableFields);
        else if (!o.json)
          printer = new Printer({
            output: f.output,
            tableFields: f.tableFields,
            streaming: false,
            write: (s) => process.stdout.write(s),
            width: process.stdout.columns,
          });
      },
      onRecords: (r) => {
        redirect?.records(r);
        if (redirect && !o.json) return;
        if (!o.json) printer?.add(r);
        else for (const record of r) records.push(record);
      },
      onText: (t) => {
        redirect?.text(t);
        if (o.json) text += t;
        else if (!redirect) printer?.text(t);
      },
    });
    const stopOnSignal = () => {
      const id = run.commandId();
      if (id) client.cancel(id);
    };
    process.once('SIGINT', stopOnSignal);
    const outcome = await run.outcome;
    process.off('SIGINT', stopOnSignal);
    (printer as Printer | null)?.end();
    client.closeSession(session.id);
    client.close();
    if (redirect) {
      try {
        const bytes = redirect.save();
        process.stderr.write(`${PROG}: output written to ${redirect.path} (${bytes} bytes)\n`);
      } catch (e) {
        process.stderr.write(`${PROG}: ${describeError(e)}\n`);
        if (outcome.status === 'completed') process.exitCode = EXIT_FAILED;
      }
    }
    if (o.json)
      process.stdout.write(
        JSON.stringify(
          {
            commandId: outcome.commandId,
            status: outcome.status,
            error: outcome.error ?? null,
            durationMs: outcome.durationMs,
            records,
            text,
          },
          null,
          2,
        ) + '\n',
      );
    if (outcome.status === 'completed') {
      process.exitCode ??= EXIT_OK;
      return;
    }
    if (!o.json) process.stderr.write(`${PROG}: ${outcome.error ?? outcome.status}\n`);
    process.exitCode = outcome.status === 'refused' ? EXIT_REFUSED : EXIT_FAILED;
  });

program
  .command('shell')
  .description('interactive console on a device')
  .argument('<device>', 'device id or name')
  .action(async (device: string) => {
    const code = await runShell(loadProfile(), device);
    process.exitCode = code;
  });

const logCommand = program
  .command('log')
  .description('the command log')
  .option('--device <device>', 'only this device (id or name)')
  .option('--batch <id>', 'only the commands a batch run sent to its devices')
  .option('--limit <n>', 'the newest N entries', '10000')
  .option('--json', 'JSON output (every field, output included)')
  .option('--jsonl', 'the whole log as JSON lines with its hash chain, for a SIEM (admin; same as `log export`)')
  .action(async (o: { device?: string; batch?: string; json?: boolean; jsonl?: boolean; limit: string }) => {
    if (o.jsonl) return exportLogJsonl(loadProfile());
    const limit = Number(o.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new CliError('--limit must be a positive integer');
    const entries = await new ServiceApi(loadProfile()).log({ device: o.device, batch: o.batch, limit });
    if (o.json) process.stdout.write(renderJson(entries) + '\n');
    else
      process.stdout.write(
        renderTable(entries, ['id', 'startedAt', 'user', 'deviceName', 'status', 'durationMs', 'commandLine'], {
          maxWidth: process.stdout.columns,
        }) + '\n',
      );
  });

registerDeviceCommands(devicesCommand, loadProfile); // devices rename
registerLibraryCommands(program, loadProfile);
registerIndicatorCommands(program, loadProfile);
registerBatchCommands(program, loadProfile);
registerAdminCommands(program, logCommand, loadProfile); // log verify|export, groups, users

program.parseAsync(process.argv).then(
  () => {
    // Sockets closed; exit with the command's code once stdout has drained: when stdout is a pipe whose
    // reader is slower than us, process.exit() would drop what is still queued (large -output json).
    const code = process.exitCode ?? 0;
    process.stdout.write('', () => process.exit(code));
  },
  (e: unknown) => {
    const ce = e as { code?: string };
    if (ce.code === 'commander.helpDisplayed' || ce.code === 'commander.version') process.exit(0);
    if (ce.code?.startsWith('commander.')) process.exit(2);
    fail(PROG, e);
  },
);
