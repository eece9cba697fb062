/** Windows persistence: not written yet (placeholder of the skeleton; refuses, never a made-up result). */
import { NotSupportedError, type PersistenceInfo} from '../types.js';

export async function listPersistence(_signal?: AbortSignal): Promise<PersistenceInfo[]> {
  throw new NotSupportedError('persistence');
}

