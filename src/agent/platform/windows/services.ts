/** Windows services: not written yet (placeholder of the skeleton; refuses, never a made-up result). */
import { NotSupportedError, type ServiceInfo} from '../types.js';

export async function listServices(_signal?: AbortSignal): Promise<ServiceInfo[]> {
  throw new NotSupportedError('services');
}

