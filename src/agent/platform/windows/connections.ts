/** Windows connections: not written yet (placeholder of the skeleton; refuses, never a made-up result). */
import { NotSupportedError, type ConnectionInfo} from '../types.js';

export async function listConnections(_signal?: AbortSignal): Promise<ConnectionInfo[]> {
  throw new NotSupportedError('connections');
}

export async function streamConnections(_sink: (rows: ConnectionInfo[]) => Promise<void>, _signal?: AbortSignal): Promise<void> {
  throw new NotSupportedError('connections');
}

