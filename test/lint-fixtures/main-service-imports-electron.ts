// lint-as: src/main/services/fixture.ts
// expect: no-restricted-imports
import { app } from 'electron';

export const version = () => app.getVersion();
