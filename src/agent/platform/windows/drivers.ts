/** Windows drivers: not written yet (placeholder of the skeleton; refuses, never a made-up result). */
import { NotSupportedError, type DriverInfo} from '../types.js';

export async function listDrivers(_signal?: AbortSignal): Promise<DriverInfo[]> {
  throw new NotSupportedError('drivers');
}

