// lint-as: src/renderer/src/fixture.ts
// expect: no-restricted-imports
import { ipcRenderer } from 'electron';

export const ipc = ipcRenderer;
