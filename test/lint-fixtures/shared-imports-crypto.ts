// lint-as: src/shared/fixture.ts
// expect: no-restricted-imports
import { randomUUID } from 'crypto';

export const id = randomUUID;
