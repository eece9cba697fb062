// lint-as: src/renderer/src/fixture.ts
// expect: no-restricted-imports
import { readFileSync } from 'fs';

export const read = readFileSync;
