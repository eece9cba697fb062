/**
 * A staged update restarts the agent, which ends every job running on the device (a download, a script,
 * a collection): so the restart waits until no job runs, checking every `everyMs`, up to `maxMs` (then it
 * goes ahead: a device kept busy forever must still be updatable; the log says how many jobs it ended).
 */
export const UPDATE_IDLE_WAIT_MS = 15 * 60_000;

export async function whenIdle(
  running: () => number,
  opts: { maxMs?: number; everyMs?: number; onWait?: (count: number) => void } = {},
): Promise<number> {
  const maxMs = opts.maxMs ?? UPDATE_IDLE_WAIT_MS;
  const everyMs = opts.everyMs ?? 500;
  const t0 = Date.now();
  if (running() > 0) opts.onWait?.(running());
  while (running() > 0 && Date.now() - t0 < maxMs) await new Promise((r) => setTimeout(r, everyMs));
  return running();
}
