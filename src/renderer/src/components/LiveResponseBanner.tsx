/**
 * "Live response is turned off" said where it matters (Devices, Consoles) instead of a session that fails
 * with no reason in sight. Known from the tenant settings (admins read them when the page shows) or from
 * the service's refusal of a session (anyone).
 */
import { useEffect } from 'react';
import { dispatcher } from '../state/dispatcher.js';
import { useAppStore } from '../state/app-store.js';

/** A refusal from the service that means live response is off for the whole tenant. */
export function noteSessionOutcome(error: unknown): void {
  const message = error instanceof Error ? error.message : error === undefined ? '' : String(error);
  const { setLiveResponseOff } = useAppStore.getState();
  if (/live response is turned off/.test(message)) setLiveResponseOff(true);
  else if (error === undefined) setLiveResponseOff(false);
}

export function LiveResponseBanner({ testId }: { testId: string }) {
  const off = useAppStore((state) => state.liveResponseOff);
  const ready = useAppStore((state) => state.workspace?.state === 'ready');
  const isAdmin = useAppStore((state) => state.workspace?.user?.role === 'admin');

  useEffect(() => {
    if (!ready || !isAdmin) return;
    let current = true;
    dispatcher
      .tenantSettings({})
      .then((view) => {
        if (current && view.settings) useAppStore.getState().setLiveResponseOff(view.settings.liveResponse === false);
      })
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [ready, isAdmin]);

  if (!off || !ready) return null;
  return (
    <p className="banner banner--warn page__banner" role="status" data-testid={testId}>
      Live response is turned off for this tenant: no session opens on any device until an admin turns it back on
      {isAdmin ? (
        <>
          {' '}
          in{' '}
          <button
            type="button"
            className="linklike"
            data-testid={`${testId}-settings`}
            onClick={() => useAppStore.getState().showSection('settings')}
          >
            Settings
          </button>
          .
        </>
      ) : (
        '.'
      )}
    </p>
  );
}
