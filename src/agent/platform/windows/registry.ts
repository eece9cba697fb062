/** Windows registry: not written yet (placeholder of the skeleton; refuses, never a made-up result). */
import { NotSupportedError} from '../types.js';

export async function readRegistry(_key: string): Promise<Record<string, unknown>[]> {
  throw new NotSupportedError('registry');
}

