// lint-as: src/renderer/src/components/fixture.tsx
// expect: no-restricted-imports
import { readFile } from 'fs/promises';

export const read = readFile;
