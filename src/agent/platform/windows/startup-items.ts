/** Windows startup-items: not written yet (placeholder of the skeleton; refuses, never a made-up result). */
import { NotSupportedError, type StartupItemInfo} from '../types.js';

export async function listStartupItems(_signal?: AbortSignal): Promise<StartupItemInfo[]> {
  throw new NotSupportedError('startup-items');
}

