import { useEffect } from 'react';
import { call } from './api/call.js';
import { lr } from './api/transport.js';
import { EchoPanel } from './components/EchoPanel.js';
import { NavBar } from './components/NavBar.js';
import { StatusLine } from './components/StatusLine.js';
import { SECTIONS, useAppStore } from './state/app-store.js';

export function App() {
  const sectionId = useAppStore((state) => state.section);
  const section = SECTIONS.find((item) => item.id === sectionId) ?? SECTIONS[0];

  useEffect(() => {
    const { connected, failed, eventReceived } = useAppStore.getState();
    const unsubscribe = lr.onEvent(eventReceived);
    call('lr:app.info', {})
      .then((info) => {
        connected(info);
        // Tests (and a future Electron smoke test) wait for this before touching the UI.
        document.body.dataset.appState = 'loaded';
      })
      .catch((error: unknown) => {
        failed(error instanceof Error ? error.message : String(error));
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
        <div className="main__content">
          <section className="card card--placeholder" data-testid={`section-${section.id}`}>
            <h2 className="card__title">{section.label}</h2>
            <p className="card__hint">{section.blurb}</p>
            <p className="card__hint">Not connected to a service yet: this screen is a placeholder.</p>
          </section>
          <EchoPanel />
        </div>
      </main>
      <StatusLine />
    </div>
  );
}
