// lint-as: src/shared/fixture.ts
// expect: lr/layering
import { startService } from '../server/service.js';

export const start = startService;
