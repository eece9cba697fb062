/**
 * The `library` console command, answered by the service: lists the library, or deletes one file (library managers).
 */
import type { ServiceCommandContext, ServiceCommandResult } from './service-commands.js';
import { libraryOf, LibraryService } from './library-service.js';

export async function libraryCommand(ctx: ServiceCommandContext): Promise<ServiceCommandResult> {
  const lib = libraryOf(ctx.pipeline);
  if (!lib) return { status: 'failed', error: 'library: the library is not available on this service' };
  const user = ctx.peer.user;
  if (ctx.params.action === 'delete') {
    const name = ctx.params.name === undefined ? '' : String(ctx.params.name);
    if (!name) return { status: 'refused', error: 'library: missing <name> (library delete <name>)' };
    if (!LibraryService.mayManage(user))
      return { status: 'refused', error: `library: ${LibraryService.manageRefusal(user)}` };
    if (!lib.files.get(name)) return { status: 'failed', error: `library: no library file ${name}` };
    await lib.files.delete(name);
    lib.log.info('library file deleted', { name, by: user.name });
    const text = `deleted ${name} from the library\n`;
    ctx.job.output.append(text);
    ctx.job.attached?.send({ t: 'command.text', commandId: ctx.job.id, text });
    return { status: 'completed' };
  }
  if (ctx.params.name !== undefined)
    return { status: 'refused', error: 'library: a name goes with delete (library delete <name>)' };
  const records = lib.list().map((r) => ({ ...r }));
  ctx.job.output.appendRecords(records);
  ctx.job.attached?.send({ t: 'command.records', commandId: ctx.job.id, records });
  return { status: 'completed' };
}
