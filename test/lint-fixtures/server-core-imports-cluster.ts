// lint-as: src/server/batch/fixture.ts
// expect: lr/cluster-direction
import type { CommandLogStream } from '../cluster/log-stream.js';

export type Stream = CommandLogStream;
