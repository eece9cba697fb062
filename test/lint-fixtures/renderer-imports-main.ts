// lint-as: src/renderer/src/fixture.ts
// expect: lr/layering
import { createServices } from '../../main/services/index.js';

export const services = createServices;
