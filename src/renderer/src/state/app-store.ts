/**
 * UI state: which section is shown, what the host reported, the connection, the device list, and the
 * console tabs' metadata. Terminal contents never come here (see console/registry.ts).
 */
import { create } from 'zustand';
import type {
  DeviceView,
  IpcResponse,
  LrEvent,
  SessionView,
  WorkspaceStatus,
} from '../../../shared/workstation/ipc-contract.js';
import { DEFAULT_TIME_ZONE, type TimeZoneSetting } from '../../../shared/time-format.js';

export const SECTIONS = [
  {
    id: 'devices',
    label: 'Devices',
    blurb: 'Device inventory: online state, last seen, isolation. One click opens a console.',
  },
  { id: 'consoles', label: 'Consoles', blurb: 'Live response consoles, one tab per device session.' },
  {
    id: 'batches',
    label: 'Batches',
    blurb: 'One command line over many devices: per-device status, the merged results, export, cancel.',
  },
  {
    id: 'log',
    label: 'Log',
    blurb: 'Every command of every session, with status, input and output. Filter, search, export.',
  },
  {
    id: 'library',
    label: 'Library',
    blurb: 'Scripts available to run on devices, with parameters and signature state.',
  },
  {
    id: 'cases',
    label: 'Cases',
    blurb: 'Local cases: sessions, transcripts, notes and downloaded evidence, available offline.',
  },
  { id: 'settings', label: 'Settings', blurb: 'Standalone mode, or connect to a team service with a profile file.' },
] as const;

export type SectionId = (typeof SECTIONS)[number]['id'];
export type AppInfo = IpcResponse<'lr:app.info'>;
export type ConnectionState = 'connecting' | 'connected' | 'failed';

export interface ConsoleTab {
  /** The tab's key: the session it was opened with (after `connect` its terminal talks to a newer one). */
  sessionId: string;
  deviceId: string;
  deviceName: string;
  platform: string;
  createdBy: string;
  startedAt: string;
  cwd: string;
  online: boolean;
  running: boolean;
  /** Why the session ended, once it has. */
  closed?: string | undefined;
  /** When the device went offline (ISO), while it is. */
  offlineSince?: string | undefined;
  /** Keys typed while a command runs, as shown under the terminal; sent when the prompt is back. */
  typeahead?: string | undefined;
  /** A short note under the terminal (copied, nothing to paste, ...). */
  note?: string | undefined;
  /** The search bar is open. */
  searching?: boolean | undefined;
}

interface AppState {
  section: SectionId;
  info: AppInfo | undefined;
  connection: ConnectionState;
  connectionError: string | undefined;
  lastEvent: LrEvent | undefined;
  workspace: WorkspaceStatus | undefined;
  devices: DeviceView[];
  devicesError: string | undefined;
  tabs: ConsoleTab[];
  activeTab: string | undefined;
  /** The zone every time is shown in (Settings; kept by main): UTC, local, or an IANA name. */
  timeZone: TimeZoneSetting;
  /** Live response is turned off for the tenant (known from the tenant settings or a refusal). */
  liveResponseOff: boolean;
  /** The batch the Batch page shows (undefined: the list of batches). */
  openBatch: string | undefined;
  /** Shows one batch on the Batch page (undefined: the list). */
  showBatch(id: string | undefined): void;
  /** VS Code's "Tab moves focus" (Ctrl+M): Tab leaves the terminal instead of completing. */
  tabMovesFocus: boolean;
  toggleTabMovesFocus(): void;
  showSection(section: SectionId): void;
  connected(info: AppInfo): void;
  failed(message: string): void;
  eventReceived(event: LrEvent): void;
  setWorkspace(status: WorkspaceStatus): void;
  setDevices(devices: DeviceView[], error?: string): void;
  addTab(session: SessionView): void;
  updateTab(sessionId: string, patch: Partial<ConsoleTab>): void;
  removeTab(sessionId: string): void;
  activateTab(sessionId: string): void;
  setTimeZone(zone: TimeZoneSetting): void;
  setLiveResponseOff(off: boolean): void;
}

// The page the analyst was on survives a reload of the page (not a new window: sessionStorage).
const SECTION_KEY = 'lr.section';

function restoredSection(): SectionId {
  try {
    const saved = sessionStorage.getItem(SECTION_KEY);
    return SECTIONS.find((item) => item.id === saved)?.id ?? 'devices';
  } catch {
    return 'devices';
  }
}

function rememberSection(section: SectionId): void {
  try {
    sessionStorage.setItem(SECTION_KEY, section);
  } catch {
    // storage disabled: a reload shows the devices
  }
}

export const useAppStore = create<AppState>()((set) => ({
  section: restoredSection(),
  info: undefined,
  connection: 'connecting',
  connectionError: undefined,
  lastEvent: undefined,
  workspace: undefined,
  devices: [],
  devicesError: undefined,
  tabs: [],
  activeTab: undefined,
  openBatch: undefined,
  showBatch: (openBatch) => {
    rememberSection('batches');
    set({ openBatch, section: 'batches' });
  },
  tabMovesFocus: false,
  toggleTabMovesFocus: () => set((state) => ({ tabMovesFocus: !state.tabMovesFocus })),
  showSection: (section) => {
    rememberSection(section);
    set({ section });
  },
  connected: (info) => set({ info, connection: 'connected', connectionError: undefined }),
  failed: (message) => set({ connection: 'failed', connectionError: message }),
  eventReceived: (event) => set({ lastEvent: event }),
  setWorkspace: (workspace) => set({ workspace }),
  setDevices: (devices, error) => set({ devices, devicesError: error }),
  addTab: (session) =>
    set((state) => {
      if (state.tabs.some((tab) => tab.sessionId === session.id)) return { activeTab: session.id };
      const tab: ConsoleTab = {
        sessionId: session.id,
        deviceId: session.deviceId,
        deviceName: session.deviceName,
        platform: session.platform,
        createdBy: session.createdBy,
        startedAt: session.startedAt,
        cwd: session.cwd,
        online: session.deviceOnline,
        running: false,
      };
      return { tabs: [...state.tabs, tab], activeTab: session.id };
    }),
  updateTab: (sessionId, patch) =>
    set((state) => ({ tabs: state.tabs.map((tab) => (tab.sessionId === sessionId ? { ...tab, ...patch } : tab)) })),
  removeTab: (sessionId) =>
    set((state) => {
      const index = state.tabs.findIndex((tab) => tab.sessionId === sessionId);
      const tabs = state.tabs.filter((tab) => tab.sessionId !== sessionId);
      const activeTab =
        state.activeTab === sessionId
          ? (tabs[Math.min(index, tabs.length - 1)]?.sessionId ?? undefined)
          : state.activeTab;
      return { tabs, activeTab };
    }),
  activateTab: (sessionId) => set({ activeTab: sessionId }),
  timeZone: DEFAULT_TIME_ZONE,
  liveResponseOff: false,
  setTimeZone: (timeZone) => set({ timeZone }),
  setLiveResponseOff: (liveResponseOff) => set({ liveResponseOff }),
}));
