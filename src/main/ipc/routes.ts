/** Which service method answers which contract channel. Validation happens before these run. */
import type { Services } from '../services/index.js';
import type { IpcHandlerTable } from './validated.js';

export function handlerTable(services: Services): IpcHandlerTable {
  const { workspace, devices, consoles, commandLog, library } = services;
  return {
    'lr:app.info': () => services.appInfo.info(),
    'lr:app.echo': ({ text }) => services.echo.echo(text),

    'lr:workspace.status': () => workspace.status(),
    'lr:workspace.connect': ({ profilePath }) => workspace.connectProfile(profilePath),
    'lr:workspace.standalone': () => workspace.useStandalone(),

    'lr:devices.list': () => devices.list(),

    'lr:sessions.open': ({ device }) => consoles.open(device),
    'lr:sessions.list': () => consoles.list(),
    'lr:sessions.close': async ({ sessionId }) => ({ closed: await consoles.close(sessionId) }),
    'lr:sessions.run': ({ sessionId, line }) => {
      consoles.run(sessionId, line);
      return { accepted: true as const };
    },
    'lr:sessions.cancel': ({ sessionId }) => ({ cancelled: consoles.cancel(sessionId) }),
    'lr:sessions.detach': ({ sessionId }) => ({ detached: consoles.detach(sessionId) }),
    'lr:sessions.ack': ({ sessionId, chars }) => ({ unacked: consoles.ack(sessionId, chars) }),
    'lr:sessions.complete': ({ sessionId, line, cursor }) => consoles.complete(sessionId, line, cursor),

    'lr:log.query': (query) => commandLog.query(query),
    'lr:log.get': ({ id }) => commandLog.get(id),
    'lr:log.facets': () => commandLog.facets(),
    'lr:log.export': ({ format, filter }) => commandLog.export(format, filter),

    'lr:library.list': () => library.list(),
    'lr:library.uploadBegin': (meta) => ({ uploadId: library.begin(meta) }),
    'lr:library.uploadChunk': ({ uploadId, offset, data }) => ({ received: library.chunk(uploadId, offset, data) }),
    'lr:library.uploadEnd': ({ uploadId }) => library.end(uploadId),
    'lr:library.uploadAbort': ({ uploadId }) => ({ aborted: library.abort(uploadId) }),
    'lr:library.delete': async ({ name }) => {
      await library.delete(name);
      return { deleted: true as const };
    },
  };
}
