// lint-as: src/cli/fixture.ts
// expect: lr/layering
import { openDb } from '../server/db.js';

export const open = openDb;
