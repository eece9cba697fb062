/**
 * Lists every skipped test at the end of a run, by its full name (where test/needs.ts puts the reason): the
 * default reporter shows a skipped file only as a count, which is how a skip goes unnoticed. Quiet when a
 * name filter (-t) is given, since the filter itself skips the tests it does not match.
 */
import type { Reporter, TestModule, Vitest } from 'vitest/node';

export default class SkippedTestsReporter implements Reporter {
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    if (!this.vitest || this.vitest.config.testNamePattern) return;
    const lines: string[] = [];
    for (const module of modules) {
      for (const test of module.children.allTests('skipped')) {
        const result = test.result();
        const note = result.state === 'skipped' && result.note ? ` [${result.note}]` : '';
        lines.push(`  ${module.relativeModuleId} > ${test.fullName}${note}`);
      }
    }
    if (lines.length)
      this.vitest.logger.log(`\nSkipped (${lines.length}), each with its reason in its name:\n${lines.join('\n')}\n`);
  }
}
