// lint-as: src/main/electron/fixture.ts
// expect: clean
import { app } from 'electron';

export const version = () => app.getVersion();
