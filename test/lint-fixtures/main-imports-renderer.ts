// lint-as: src/main/fixture.ts
// expect: lr/layering
import { App } from '../renderer/src/App.js';

export const app = App;
