/**
 * Everything the pages ask of main goes through here (GitHub Desktop's dispatcher): components call these
 * actions, the actions call the API and, where an answer changes shared state, put it in the stores. So a
 * component never names an IPC channel, and what the UI can do to main is listed in one file. (The
 * console's terminals keep their own calls in console/: their output never passes through React.)
 *
 * Each action takes the channel's request as it is and returns its response; errors are the IpcCallError
 * of api/call.ts, whose message carries no channel name.
 */
import type { IpcChannel, IpcRequest, IpcResponse } from '../../../shared/workstation/ipc-contract.js';
import { call } from '../api/call.js';
import { useAppStore } from './app-store.js';
import { useCasesStore } from './cases-store.js';

function action<C extends IpcChannel>(channel: C): (request: IpcRequest<C>) => Promise<IpcResponse<C>> {
  return (request) => call(channel, request);
}

/** Channels whose requests may carry a `callId` (the long calls main can cancel). */
type CancellableChannel = { [C in IpcChannel]: IpcRequest<C> extends { callId?: string } ? C : never }[IpcChannel];

/**
 * An action that takes an AbortSignal too: the call gets an id, and aborting the signal asks main to
 * cancel it. The action still settles with main's answer (the cancelled call's error, or its result when
 * it ended first).
 */
function cancellable<C extends CancellableChannel>(
  channel: C,
): (request: Omit<IpcRequest<C>, 'callId'>, signal?: AbortSignal) => Promise<IpcResponse<C>> {
  return async (request, signal) => {
    if (!signal) return call(channel, request as IpcRequest<C>);
    const callId = crypto.randomUUID();
    const cancel = () => void call('lr:calls.cancel', { callId }).catch(() => undefined);
    signal.addEventListener('abort', cancel, { once: true });
    try {
      return await call(channel, { ...request, callId } as IpcRequest<C>);
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  };
}

export const dispatcher = {
  // --- the host and the workspace ---
  appInfo: action('lr:app.info'),
  workspaceStatus: action('lr:workspace.status'),
  /** "Connect to a service": the new status goes to the app store. */
  async connectProfile(request: IpcRequest<'lr:workspace.connect'>): Promise<void> {
    useAppStore.getState().setWorkspace(await call('lr:workspace.connect', request));
  },
  /** Back to the embedded service: the new status goes to the app store. */
  async backToStandalone(): Promise<void> {
    useAppStore.getState().setWorkspace(await call('lr:workspace.standalone', {}));
  },

  // --- devices and installers ---
  listDevices: action('lr:devices.list'),
  deviceGroups: action('lr:devices.groups'),
  installerView: action('lr:installers.view'),
  makeInstaller: action('lr:installers.make'),

  // --- command log ---
  queryLog: action('lr:log.query'),
  logFacets: action('lr:log.facets'),
  logEntry: action('lr:log.get'),
  exportLog: action('lr:log.export'),

  // --- batches ---
  listBatches: action('lr:batches.list'),
  batch: action('lr:batches.get'),
  createBatch: action('lr:batches.create'),
  cancelBatch: action('lr:batches.cancel'),
  batchResults: action('lr:batches.results'),
  exportBatch: action('lr:batches.export'),
  /** With a signal, aborting it cancels the save in main: downloads stop, nothing more is stored. */
  saveBatchToCase: cancellable('lr:batches.saveToCase'),
  completeBatchLine: action('lr:batches.complete'),

  // --- library and tenant settings ---
  libraryView: action('lr:library.list'),
  deleteLibraryFile: action('lr:library.delete'),
  tenantSettings: action('lr:tenant.get'),
  updateTenantSettings: action('lr:tenant.update'),

  // --- cases ---
  createCase: action('lr:cases.create'),
  updateCase: action('lr:cases.update'),
  activateCase: action('lr:cases.activate'),
  /** The active case switcher: the answer replaces the case in the cases store. */
  async switchActiveCase(request: IpcRequest<'lr:cases.activate'>): Promise<void> {
    useCasesStore.getState().put(await call('lr:cases.activate', request));
  },
  /** With a signal, aborting it cancels the export in main (`lr:calls.cancel`): no zip is left behind. */
  exportCase: cancellable('lr:cases.export'),
  caseNotes: action('lr:cases.notes'),
  caseTranscripts: action('lr:cases.transcripts'),
  caseEvidence: action('lr:cases.evidence'),
  createNote: action('lr:notes.create'),
  saveNote: action('lr:notes.save'),
  deleteNote: action('lr:notes.delete'),
  transcript: action('lr:transcripts.get'),
  transcriptByCommand: action('lr:transcripts.byCommand'),
  evidenceItem: action('lr:evidence.get'),
  previewEvidence: action('lr:evidence.preview'),
  verifyEvidence: action('lr:evidence.verify'),
  search: action('lr:search'),
};
