// Issue 18, item 10: the catalog says what works on which OS. The agent's platform layer is Linux-only
// today (darwin and win32 refuse every capability), so agent commands must not claim them.
import { describe, expect, it } from 'vitest';
import { CATALOG, findCommand, PLATFORMS } from '../../../src/shared/catalog.js';

describe('catalog: support per OS', () => {
  it('says linux: yes and darwin/win32: not yet for the agent commands', () => {
    for (const name of ['processes', 'connections', 'services', 'drivers', 'persistence', 'remediate', 'isolate', 'collect', 'getfile']) {
      expect(findCommand(name)?.support, name).toEqual({ linux: 'yes', darwin: 'not yet', win32: 'not yet' });
    }
    expect(findCommand('registry')?.support).toEqual({ linux: 'no', darwin: 'no', win32: 'not yet' });
  });

  it('says yes everywhere for the commands the service or the console runs', () => {
    for (const c of CATALOG.filter((x) => x.side !== 'agent')) expect(c.support, c.name).toEqual({ linux: 'yes', darwin: 'yes', win32: 'yes' });
  });

  it('offers a command on every OS where it is not "no", and nowhere else', () => {
    for (const c of CATALOG) expect(c.platforms, c.name).toEqual(PLATFORMS.filter((p) => c.support[p] !== 'no'));
    expect(findCommand('registry')?.platforms).toEqual(['win32']);
  });
});
