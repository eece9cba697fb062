// lint-as: src/renderer/src/fixture.ts
// expect: lr/layering
export const load = () => import('child_process');
