// lint-as: src/main/services/fixture.ts
// expect: lr/layering
import type { ConsoleClient } from '../../client/console-client.js';

export type Client = ConsoleClient;
