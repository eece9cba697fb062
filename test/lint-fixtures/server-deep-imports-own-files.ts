// lint-as: src/server/cluster/fixture.ts
// expect: clean
import { openDb } from '../db.js';
import { Store } from '../store.js';

export const open = (file: string) => new Store(openDb(file));
