// lint-as: src/server/fixture.ts
// expect: lr/layering
import { createServices } from '../main/services/index.js';

export const services = createServices;
