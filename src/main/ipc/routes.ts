/** Which service method answers which contract channel. Validation happens before these run. */
import type { Services } from '../services/index.js';
import type { IpcHandlerTable } from './validated.js';

export function handlerTable(services: Services): IpcHandlerTable {
  const { workspace, devices, consoles, commandLog, library, cases } = services;
  return {
    'lr:app.info': () => services.appInfo.info(),
    'lr:app.echo': ({ text }) => services.echo.echo(text),

    'lr:workspace.status': () => workspace.status(),
    'lr:workspace.connect': ({ profilePath }) => workspace.connectProfile(profilePath),
    'lr:workspace.standalone': () => workspace.useStandalone(),

    'lr:prefs.get': () => services.preferences.get(),
    'lr:prefs.set': (change) => services.preferences.set(change),

    'lr:devices.list': () => devices.list(),
    'lr:devices.groups': () => devices.groups(),

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

    'lr:batches.create': (request) => services.batches.create(request),
    'lr:batches.list': ({ limit }) => services.batches.list(limit),
    'lr:batches.get': ({ id }) => services.batches.get(id),
    'lr:batches.cancel': ({ id }) => services.batches.cancel(id),
    'lr:batches.results': ({ id, device, limit }) => services.batches.results(id, device, limit),
    'lr:batches.export': ({ id, format, device }) => services.batches.export(id, format, device),
    'lr:batches.saveToCase': ({ id }, { signal }) => services.batches.saveToCase(id, signal),
    'lr:batches.complete': ({ line, cursor }) => services.batches.complete(line, cursor),

    'lr:library.list': () => library.list(),
    'lr:library.uploadBegin': async (meta) => ({ uploadId: await library.begin(meta) }),
    'lr:library.uploadChunk': ({ uploadId, offset, data }) => ({ received: library.chunk(uploadId, offset, data) }),
    'lr:library.uploadEnd': ({ uploadId }) => library.end(uploadId),
    'lr:library.uploadAbort': ({ uploadId }) => ({ aborted: library.abort(uploadId) }),
    'lr:library.delete': async ({ name }) => {
      await library.delete(name);
      return { deleted: true as const };
    },

    'lr:tenant.get': () => services.tenantSettings.get(),
    'lr:tenant.update': (update) => services.tenantSettings.update(update),

    'lr:installers.view': () => services.installers.view(),
    'lr:installers.make': ({ os }) => services.installers.make(os),

    'lr:cases.list': () => cases.list(),
    'lr:cases.create': ({ title }) => cases.create(title),
    'lr:cases.update': ({ id, title, status }) => cases.update(id, { title, status }),
    'lr:cases.activate': ({ id }) => cases.activate(id),
    'lr:cases.notes': ({ caseId }) => cases.notes(caseId),
    'lr:cases.transcripts': ({ caseId, offset, limit }) => cases.transcripts(caseId, offset, limit),
    'lr:cases.evidence': ({ caseId }) => cases.evidence(caseId),
    'lr:cases.export': ({ id }, { signal }) => cases.export(id, signal),
    'lr:cases.importBegin': ({ name, size }) => ({ uploadId: cases.importBegin(name, size) }),
    'lr:cases.importChunk': ({ uploadId, offset, data }) => ({ received: cases.importChunk(uploadId, offset, data) }),
    'lr:cases.importEnd': ({ uploadId }) => cases.importEnd(uploadId),
    'lr:cases.importAbort': ({ uploadId }) => ({ aborted: cases.importAbort(uploadId) }),

    'lr:notes.create': (note) => cases.createNote(note),
    'lr:notes.save': (note) => cases.saveNote(note),
    'lr:notes.delete': ({ id }) => ({ deleted: cases.deleteNote(id) }),

    'lr:transcripts.get': ({ id }) => cases.transcript(id),
    'lr:transcripts.byCommand': ({ commandId }) => cases.transcriptByCommand(commandId),

    'lr:evidence.get': ({ id }) => cases.evidenceItem(id),
    'lr:evidence.preview': ({ id, mode, offset, length, minLength, filter }) =>
      cases.preview(id, mode, offset, length, { minLength, filter }),
    'lr:evidence.verify': ({ id }) => cases.verify(id),

    'lr:search': ({ text, caseId, limit }) => cases.search(text, caseId, limit),
  };
}
