// The refusals of lr-agent install on Linux that come before anything is written: a data folder that is
// not the agent's, and (run from source) code that someone other than root could change, which the unit
// would then run as root. The install itself is tested in test/integration/deb-packages.test.ts.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { agentProgram, installLinuxService, nonRootWriter } from '../../../../src/agent/install/linux-install.js';
import { describeNeeds, IS_ROOT } from '../../../needs.js';

describeNeeds(IS_ROOT ? null : 'needs root (files owned by root, lr-agent install refuses other users)')(
  'lr-agent install on Linux: refusals before anything is written',
  () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'lr-linux-install-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    // A fake enrollment (this test is about what happens before it): it must never be reached.
    const enrollInto = () => Promise.reject(new Error('enrollment reached'));
    const program = { isSea: false, execPath: process.execPath, script: '/nonexistent' };

    it("a data folder holding files that are not an agent's, or a symbolic link", async () => {
      const data = join(dir, 'data');
      mkdirSync(data);
      writeFileSync(join(data, 'notes.txt'), 'x');
      await expect(
        installLinuxService({ bundle: '/b.json', dataDir: data, program, enrollInto }, () => undefined),
      ).rejects.toThrow(/is not an agent data folder/);
      const link = join(dir, 'link');
      symlinkSync('/etc', link);
      await expect(
        installLinuxService({ bundle: '/b.json', dataDir: link, program, enrollInto }, () => undefined),
      ).rejects.toThrow(/not a plain folder/);
    });

    it('code the unit would run as root that another user owns, or that group or others may write', () => {
      const code = join(dir, 'app');
      mkdirSync(code);
      chmodSync(code, 0o755);
      const script = join(code, 'lr-agent.js');
      writeFileSync(script, '', { mode: 0o644 });
      expect(nonRootWriter(script)).toBeNull();
      expect(agentProgram({ isSea: false, execPath: process.execPath, script }).argv.at(-1)).toBe(script);

      chmodSync(code, 0o777); // anyone could swap the script
      expect(nonRootWriter(script)).toMatch(/app is writable by its group or others \(mode 777\)/);
      expect(() => agentProgram({ isSea: false, execPath: process.execPath, script })).toThrow(
        /the service would run .* as root, but .* writable by its group or others/,
      );
      chmodSync(code, 0o755);

      chownSync(script, 1000, 1000); // a user's file
      expect(() => agentProgram({ isSea: false, execPath: process.execPath, script })).toThrow(
        /lr-agent\.js is owned by uid 1000/,
      );
    });

    it('a sticky folder above (/tmp) is not a writer: others cannot rename what is not theirs there', () => {
      expect(nonRootWriter(dir)).toBeNull(); // dir is in /tmp (1777)
    });
  },
);
