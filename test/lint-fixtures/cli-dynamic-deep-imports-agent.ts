// lint-as: src/cli/fixture.ts
// expect: lr/layering
export const load = () => import('../agent/install/linux-install.js');
