// lint-as: src/cli/fixture.ts
// expect: clean
import { startAgent } from '../agent/index.js';
import { ServiceNodes } from '../client/index.js';
import { startService } from '../server/index.js';

export const programs = { startAgent, ServiceNodes, startService };
