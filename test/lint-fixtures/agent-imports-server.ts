// lint-as: src/agent/commands/fixture.ts
// expect: lr/layering
export { startService } from '../../server/service.js';
