/** Windows: a process's image and stopping a process (tree) for remediate (placeholder: not written yet). */
import { NotSupportedError, type StopResult } from '../types.js';

export async function processImage(_pid: number): Promise<string | null> {
  throw new NotSupportedError('remediate process');
}

export async function stopProcess(_pid: number, _opts: { tree: boolean; graceMs?: number }): Promise<StopResult> {
  throw new NotSupportedError('remediate process');
}
