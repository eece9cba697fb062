// lint-as: src/renderer/src/fixture.ts
// expect: no-restricted-imports
import path from 'node:path';

export const join = path.join;
