import { useEffect } from 'react';
import { dispatcher } from './state/dispatcher.js';
import { lr } from './api/transport.js';
import { ConsolesPage } from './components/ConsolesPage.js';
import { DevicesPage } from './components/DevicesPage.js';
import { LibraryPage } from './components/LibraryPage.js';
import { LogPage } from './components/LogPage.js';
import { NavBar } from './components/NavBar.js';
import { SettingsPage } from './components/SettingsPage.js';
import { StatusLine } from './components/StatusLine.js';
import { routeOutput } from './console/registry.js';
import { restoreConsoles } from './console/sessions.js';
import { publishLibraryProgress } from './components/library-progress.js';
import { BatchesPage } from './components/BatchesPage.js';
import { CasesPage } from './components/CasesPage.js';
import { routeCaseEvent } from './state/cases-store.js';
import { SECTIONS, useAppStore } from './state/app-store.js';
import { assertNever } from '../../shared/assert-never.js';
import { describeError } from '../../shared/errors.js';

export function App() {
  const sectionId = useAppStore((state) => state.section);
  const section = SECTIONS.find((item) => item.id === sectionId) ?? SECTIONS[0];

  useEffect(() => {
    const { connected, failed, eventReceived, setWorkspace, setDevices } = useAppStore.getState();
    const unsubscribe = lr.onEvent((event) => {
      switch (event.type) {
        case 'console.output':
          // Straight to the terminal: console bytes never pass through React or the store.
          routeOutput(event.sessionId, event.items, event.weight);
          return;
        case 'workspace.changed':
          setWorkspace(event.status);
          if (event.status.state === 'ready') void refreshDevices();
          return;
        case 'devices.changed':
          setDevices(event.devices);
          return;
        case 'library.progress':
          publishLibraryProgress(event);
          return;
        case 'cases.changed':
        case 'cases.progress':
          routeCaseEvent(event);
          return;
        case 'hello':
          eventReceived(event);
          return;
        default:
          // The transports parse every event with lrEventSchema first, so only a new kind gets here.
          assertNever(event, 'event');
      }
    });
    dispatcher
      .appInfo({})
      .then(async (info) => {
        connected(info);
        setWorkspace(await dispatcher.workspaceStatus({}));
        if (useAppStore.getState().workspace?.state === 'ready') {
          await refreshDevices();
          await restoreConsoles().catch(() => undefined);
        }
        // Tests (and a future Electron smoke test) wait for this before touching the UI.
        document.body.dataset.appState = 'loaded';
      })
      .catch((error: unknown) => {
        failed(describeError(error));
        document.body.dataset.appState = 'failed';
      });
    return unsubscribe;
  }, []);

  return (
    <div className="shell" data-testid="app-shell">
      <NavBar />
      <main className="main">
        <header className="main__header">
          <h1 data-testid="section-title">{section.label}</h1>
        </header>
        <div className="main__body">
          {/* Consoles stay mounted (hidden) so terminals keep their state while other sections show. */}
          <div className="section-host" hidden={sectionId !== 'consoles'}>
            <ConsolesPage visible={sectionId === 'consoles'} />
          </div>
          {sectionId === 'devices' && <DevicesPage />}
          {sectionId === 'batches' && <BatchesPage />}
          {sectionId === 'log' && <LogPage />}
          {sectionId === 'library' && <LibraryPage />}
          {sectionId === 'cases' && <CasesPage />}
          {sectionId === 'settings' && <SettingsPage />}
        </div>
      </main>
      <StatusLine />
    </div>
  );
}

export async function refreshDevices(): Promise<void> {
  const { setDevices } = useAppStore.getState();
  try {
    setDevices(await dispatcher.listDevices({}));
  } catch (error) {
    setDevices(useAppStore.getState().devices, describeError(error));
  }
}
