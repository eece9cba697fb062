/** UI state of the shell: which section is shown, what the host reported, whether the API answers. */
import { create } from 'zustand';
import type { IpcResponse, LrEvent } from '../../../shared/ipc-contract.js';

export const SECTIONS = [
  { id: 'devices', label: 'Devices', blurb: 'Device inventory: online state, last seen, isolation. One click opens a console.' },
  { id: 'log', label: 'Log', blurb: 'Every command of every session, with status, input and output. Filter, search, export.' },
  { id: 'library', label: 'Library', blurb: 'Scripts available to run on devices, with parameters and signature state.' },
  { id: 'cases', label: 'Cases', blurb: 'Local cases: sessions, transcripts, notes and downloaded evidence, available offline.' },
] as const;

export type SectionId = (typeof SECTIONS)[number]['id'];
export type AppInfo = IpcResponse<'lr:app.info'>;
export type Connection = 'connecting' | 'connected' | 'failed';

interface AppState {
  section: SectionId;
  info: AppInfo | undefined;
  connection: Connection;
  connectionError: string | undefined;
  lastEvent: LrEvent | undefined;
  showSection(section: SectionId): void;
  connected(info: AppInfo): void;
  failed(message: string): void;
  eventReceived(event: LrEvent): void;
}

export const useAppStore = create<AppState>()((set) => ({
  section: 'devices',
  info: undefined,
  connection: 'connecting',
  connectionError: undefined,
  lastEvent: undefined,
  showSection: (section) => set({ section }),
  connected: (info) => set({ info, connection: 'connected', connectionError: undefined }),
  failed: (message) => set({ connection: 'failed', connectionError: message }),
  eventReceived: (event) => set({ lastEvent: event }),
}));
