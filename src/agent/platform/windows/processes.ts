/** Windows processes: not written yet (placeholder of the skeleton; refuses, never a made-up result). */
import { NotSupportedError, type ProcessInfo} from '../types.js';

export async function listProcesses(_signal?: AbortSignal): Promise<ProcessInfo[]> {
  throw new NotSupportedError('processes');
}

