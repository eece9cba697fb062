/** Windows scheduled-tasks: not written yet (placeholder of the skeleton; refuses, never a made-up result). */
import { NotSupportedError, type ScheduledTaskInfo} from '../types.js';

export async function listScheduledTasks(_signal?: AbortSignal): Promise<ScheduledTaskInfo[]> {
  throw new NotSupportedError('scheduled-tasks');
}

