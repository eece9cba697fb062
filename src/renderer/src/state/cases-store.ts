/**
 * UI state of the Cases page: the case list, which case / tab / note / transcript entry / evidence item is
 * open, a revision counter bumped by `cases.changed` events (views refetch on it) and the progress of long
 * case work (`cases.progress`). The cases themselves live in main (SQLite); nothing here is authoritative.
 */
import { create } from 'zustand';
import type { CaseTaskProgress, CaseView } from '../../../shared/workstation/case-types.js';
import type { LrEvent } from '../../../shared/workstation/ipc-contract.js';
import { call } from '../api/call.js';
import { describeError } from '../../../shared/errors.js';

export type CaseTab = 'notes' | 'transcripts' | 'evidence';

interface CasesState {
  cases: CaseView[];
  /** The list has been loaded at least once. */
  loaded: boolean;
  error: string | undefined;
  caseId: string | undefined;
  tab: CaseTab;
  noteId: string | undefined;
  transcriptId: string | undefined;
  evidenceId: string | undefined;
  /** Bumped at every `cases.changed` (and after our own changes): views holding case data refetch. */
  revision: number;
  /** Last progress of each task, keyed `${task}:${id}`. */
  progress: Record<string, CaseTaskProgress>;
  reload(): Promise<void>;
  selectCase(caseId: string | undefined): void;
  setTab(tab: CaseTab): void;
  openNote(caseId: string, noteId: string | undefined): void;
  openTranscript(caseId: string, transcriptId: string | undefined): void;
  openEvidence(caseId: string, evidenceId: string | undefined): void;
  /** A case changed (event from main, or our own write): refetch. */
  changed(): void;
  /** Replaces one case in the list (answer of an update). */
  put(view: CaseView): void;
  setProgress(progress: CaseTaskProgress): void;
}

export function progressKey(task: CaseTaskProgress['task'], id: string): string {
  return `${task}:${id}`;
}

export const useCasesStore = create<CasesState>()((set, get) => ({
  cases: [],
  loaded: false,
  error: undefined,
  caseId: undefined,
  tab: 'notes',
  noteId: undefined,
  transcriptId: undefined,
  evidenceId: undefined,
  revision: 0,
  progress: {},
  async reload() {
    try {
      const cases = await call('lr:cases.list', {});
      const { caseId } = get();
      const keep = caseId !== undefined && cases.some((c) => c.id === caseId);
      const next = keep ? caseId : (cases.find((c) => c.active) ?? cases[0])?.id;
      set({
        cases,
        loaded: true,
        error: undefined,
        ...(next === caseId ? {} : { caseId: next, noteId: undefined, transcriptId: undefined, evidenceId: undefined }),
      });
    } catch (e) {
      set({ loaded: true, error: errorText(e) });
    }
  },
  selectCase: (caseId) =>
    set((state) =>
      state.caseId === caseId ? {} : { caseId, noteId: undefined, transcriptId: undefined, evidenceId: undefined },
    ),
  setTab: (tab) => set({ tab }),
  openNote: (caseId, noteId) => set((state) => ({ ...sameCase(state, caseId), caseId, tab: 'notes', noteId })),
  openTranscript: (caseId, transcriptId) =>
    set((state) => ({ ...sameCase(state, caseId), caseId, tab: 'transcripts', transcriptId })),
  openEvidence: (caseId, evidenceId) =>
    set((state) => ({ ...sameCase(state, caseId), caseId, tab: 'evidence', evidenceId })),
  changed() {
    set((state) => ({ revision: state.revision + 1 }));
    void get().reload();
  },
  put: (view) =>
    set((state) => ({
      cases: state.cases.map((c) => (c.id === view.id ? view : view.active ? { ...c, active: false } : c)),
    })),
  setProgress: (progress) =>
    set((state) => ({ progress: { ...state.progress, [progressKey(progress.task, progress.id)]: progress } })),
}));

/** Opening something in another case forgets what was open in the previous one. */
function sameCase(state: CasesState, caseId: string): Partial<CasesState> {
  return state.caseId === caseId ? {} : { noteId: undefined, transcriptId: undefined, evidenceId: undefined };
}

let changeTimer: ReturnType<typeof setTimeout> | undefined;

/** App.tsx routes the case events here. A burst of changes (a console running commands) refetches once. */
export function routeCaseEvent(event: Extract<LrEvent, { type: 'cases.changed' | 'cases.progress' }>): void {
  if (event.type === 'cases.progress') {
    useCasesStore.getState().setProgress(event.progress);
    return;
  }
  // Before the page was ever shown there is nothing to refresh: it loads when it mounts.
  if (!useCasesStore.getState().loaded || changeTimer !== undefined) return;
  changeTimer = setTimeout(() => {
    changeTimer = undefined;
    useCasesStore.getState().changed();
  }, 120);
}

export function errorText(e: unknown): string {
  const text = describeError(e);
  return text.replace(/\s*\n\s*/g, ' ');
}
