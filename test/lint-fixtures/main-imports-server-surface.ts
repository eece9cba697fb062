// lint-as: src/main/services/fixture.ts
// expect: clean
import { startService, type RunningService } from '../../server/index.js';

export const start = (dir: string): Promise<RunningService> => startService(dir);
