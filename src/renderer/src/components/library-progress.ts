/** Upload progress events from main, for whichever library upload is listening. */
import type { LrEvent } from '../../../shared/workstation/ipc-contract.js';

type Progress = Extract<LrEvent, { type: 'library.progress' }>;
const listeners = new Set<(event: Progress) => void>();

export function publishLibraryProgress(event: Progress): void {
  for (const listener of [...listeners]) listener(event);
}

export function onLibraryProgress(listener: (event: Progress) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
