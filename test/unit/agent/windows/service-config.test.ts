// What `lr-agent install` registers on Windows, checked under Linux: the service command line (split back the
// way Windows splits it), the data folder's access list check, the status lines.
import { describe, expect, it } from 'vitest';
import {
  DATA_DIR_SDDL,
  DATA_DIR_SECURITY,
  dataDirAclProblem,
  defaultDataDir,
  quoteWindowsArg,
  serviceCommandLine,
  statusLines,
  untrustedWriters,
  type AgentInstallStatus,
} from '../../../../src/agent/install/service-config.js';

/**
 * A command line split as CreateProcess finds the program (up to the closing quote when it starts with one,
 * else up to the first blank, which is what makes an unquoted `C:\Program Files\...` run `C:\Program.exe`)
 * and as the C runtime / CommandLineToArgvW split the arguments: 2n backslashes + quote -> n backslashes and
 * a quote toggle, 2n+1 backslashes + quote -> n backslashes and a literal quote, other backslashes literal.
 */
function splitWindowsCommandLine(line: string): string[] {
  let i = 0;
  let program = '';
  if (line[0] === '"') {
    const end = line.indexOf('"', 1);
    program = line.slice(1, end);
    i = end + 1;
  } else {
    while (i < line.length && !/\s/.test(line[i]!)) program += line[i++];
  }
  const args = [program];
  for (;;) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) return args;
    let arg = '';
    let quoted = false;
    while (i < line.length && (quoted || !/\s/.test(line[i]!))) {
      let slashes = 0;
      while (line[i] === '\\') {
        slashes++;
        i++;
      }
      if (line[i] === '"') {
        arg += '\\'.repeat(Math.floor(slashes / 2));
        if (slashes % 2) arg += '"';
        else quoted = !quoted;
        i++;
      } else {
        arg += '\\'.repeat(slashes);
        if (i < line.length && (quoted || !/\s/.test(line[i]!))) arg += line[i++];
      }
    }
    args.push(arg);
  }
}

describe('the service command line', () => {
  it('splits back into node.exe, the script, `service --data DIR` with spaces in every path', () => {
    const node = 'C:\\Program Files\\nodejs\\node.exe';
    const script = 'C:\\Program Files\\lr agent\\lr-agent.js';
    const data = 'C:\\ProgramData\\lr agent';
    const line = serviceCommandLine(node, script, data);
    expect(line).toBe(
      '"C:\\Program Files\\nodejs\\node.exe" "C:\\Program Files\\lr agent\\lr-agent.js" service --data "C:\\ProgramData\\lr agent"',
    );
    expect(splitWindowsCommandLine(line)).toEqual([node, script, 'service', '--data', data]);
  });

  it('quotes the program even without a space, and never lets Windows stop at the first blank (unquoted service path)', () => {
    const line = serviceCommandLine('C:\\Program Files\\nodejs\\node.exe', 'C:\\x\\lr-agent.js', 'C:\\d');
    expect(line.startsWith('"C:\\Program Files\\nodejs\\node.exe" ')).toBe(true);
    expect(splitWindowsCommandLine(line)[0]).toBe('C:\\Program Files\\nodejs\\node.exe');
    expect(serviceCommandLine('C:\\node\\node.exe', 'C:\\x\\lr-agent.js', 'C:\\d')).toBe(
      '"C:\\node\\node.exe" "C:\\x\\lr-agent.js" service --data "C:\\d"',
    );
  });

  it('is the .exe alone for the single executable (no node.exe, no script), quoted, and splits back', () => {
    const exe = 'C:\\Program Files\\lr-agent\\lr-agent-win-x64.exe';
    const line = serviceCommandLine(exe, null, 'C:\\ProgramData\\lr-agent');
    expect(line).toBe('"C:\\Program Files\\lr-agent\\lr-agent-win-x64.exe" service --data "C:\\ProgramData\\lr-agent"');
    expect(splitWindowsCommandLine(line)).toEqual([exe, 'service', '--data', 'C:\\ProgramData\\lr-agent']);
    expect(() => serviceCommandLine('lr-agent-win-x64.exe', null, 'C:\\d')).toThrow(
      /lr-agent executable path must be an absolute local path/,
    );
    expect(() => serviceCommandLine('C:\\a"b\\lr-agent-win-x64.exe', null, 'C:\\d')).toThrow(
      /lr-agent executable path contains a character/,
    );
  });

  it('keeps a trailing backslash of the data folder (it would otherwise escape the closing quote)', () => {
    const line = serviceCommandLine('C:\\n\\node.exe', 'C:\\x\\lr-agent.js', 'D:\\agent data\\');
    expect(splitWindowsCommandLine(line)).toEqual([
      'C:\\n\\node.exe',
      'C:\\x\\lr-agent.js',
      'service',
      '--data',
      'D:\\agent data\\',
    ]);
  });

  it('quotes any argument so that it splits back unchanged', () => {
    for (const arg of [
      '',
      'a',
      'a b',
      'a"b',
      'a\\"b',
      'a\\\\',
      'a\\\\"b c',
      '\\\\server\\share\\',
      'tab\there',
      '"',
      '\\',
    ]) {
      expect(splitWindowsCommandLine(`"x.exe" ${quoteWindowsArg(arg)} end`)).toEqual(['x.exe', arg, 'end']);
    }
  });

  it('refuses relative, UNC and quote-carrying paths with a one-line reason', () => {
    expect(() => serviceCommandLine('node.exe', 'C:\\x\\lr-agent.js', 'C:\\d')).toThrow(
      /node\.exe path must be an absolute local path/,
    );
    expect(() => serviceCommandLine('C:\\n\\node.exe', '\\\\evil\\share\\lr-agent.js', 'C:\\d')).toThrow(
      /lr-agent script path must be an absolute local path/,
    );
    expect(() => serviceCommandLine('C:\\n\\node.exe', 'C:\\x\\lr-agent.js', 'C:\\d" --evil "')).toThrow(
      /data folder path contains a character/,
    );
  });

  it('defaults the data folder to %ProgramData%\\lr-agent', () => {
    expect(defaultDataDir({ ProgramData: 'C:\\ProgramData' })).toBe('C:\\ProgramData\\lr-agent');
    expect(() => defaultDataDir({})).toThrow(/%ProgramData% is not set/);
  });
});

describe("the data folder's access list", () => {
  it('passes only the protected SYSTEM + Administrators full-control list', () => {
    expect(dataDirAclProblem(DATA_DIR_SDDL)).toBeNull();
    expect(dataDirAclProblem('D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)')).toBeNull();
    expect(dataDirAclProblem(DATA_DIR_SECURITY)).toBeNull();
    expect(dataDirAclProblem(`O:SY${DATA_DIR_SDDL}`)).toBeNull();
  });

  it('reports a list that lets anyone else in, inherits, or lacks an entry', () => {
    // What Wine builds back from Unix mode bits: the user and Everyone.
    expect(dataDirAclProblem('D:(A;OICI;FA;;;SY)(A;OICI;FA;;;S-1-5-21-0-0-0-1000)(A;OICI;0x1200a9;;;WD)')).toMatch(
      /others than SYSTEM and Administrators: allow S-1-5-21-0-0-0-1000, allow WD/,
    );
    // %ProgramData%'s default: Users may read and create.
    expect(dataDirAclProblem('D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)')).toMatch(/allow BU/);
    expect(dataDirAclProblem('D:(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)')).toMatch(/inherits entries from its parent/);
    expect(dataDirAclProblem('D:P(A;OICI;FA;;;SY)')).toMatch(/Administrators lacks inherited full control/);
    expect(dataDirAclProblem('D:P(A;;FA;;;SY)(A;OICI;FA;;;BA)')).toMatch(/SYSTEM lacks inherited full control/);
    expect(dataDirAclProblem('D:P(A;OICI;FR;;;SY)(A;OICI;FA;;;BA)')).toMatch(/SYSTEM lacks/);
    expect(dataDirAclProblem('D:P(D;OICI;FA;;;SY)(A;OICI;FA;;;BA)')).toMatch(/deny SY/);
    expect(dataDirAclProblem('D:NO_ACCESS_CONTROL')).toMatch(/no access list/);
    // A user who made the folder in %ProgramData% before the install keeps the owner's power to rewrite the list.
    expect(dataDirAclProblem(`O:S-1-5-21-1-2-3-1001${DATA_DIR_SDDL}`)).toMatch(
      /owned by S-1-5-21-1-2-3-1001, who can change its access list/,
    );
    expect(dataDirAclProblem('O:BAG:SY')).toMatch(/no access list/);
  });
});

describe('lr-agent status lines', () => {
  const enrolled = { deviceId: 'dev123', name: 'winsvc', url: 'wss://10.0.0.5:8443' };
  const acl = { sddl: DATA_DIR_SDDL, problem: null };
  it('installed, running, enrolled, locked folder', () => {
    const s: AgentInstallStatus = {
      service: {
        state: 4,
        pid: 1234,
        commandLine: '"C:\\n\\node.exe" "C:\\x\\lr-agent.js" service --data "C:\\ProgramData\\lr-agent"',
        startType: 'automatic',
        account: 'LocalSystem',
      },
      dataDir: 'C:\\ProgramData\\lr-agent',
      enrollment: enrolled,
      acl,
    };
    expect(statusLines(s)).toEqual([
      'service: installed, running (pid 1234)',
      '  start: automatic, account: LocalSystem',
      '  command line: "C:\\n\\node.exe" "C:\\x\\lr-agent.js" service --data "C:\\ProgramData\\lr-agent"',
      'enrolled: yes, as winsvc (device id dev123) with 10.0.0.5:8443',
      'data folder: C:\\ProgramData\\lr-agent',
      `  access: ${DATA_DIR_SDDL} (SYSTEM and Administrators only)`,
    ]);
  });

  it('not installed, not enrolled, no folder', () => {
    expect(statusLines({ service: null, dataDir: 'C:\\ProgramData\\lr-agent', enrollment: null })).toEqual([
      'service: not installed (no service named lr-agent)',
      'enrolled: no (no agent.json in C:\\ProgramData\\lr-agent)',
      'data folder: C:\\ProgramData\\lr-agent',
      '  (the folder does not exist)',
    ]);
  });

  it('stopped, unreadable enrollment, a wrong list and one Wine cannot keep', () => {
    const base = {
      service: { state: 1, pid: 0, commandLine: null, startType: null, account: null },
      dataDir: 'D:\\a',
      enrollment: 'agent state: not JSON',
    };
    const lines = statusLines({
      ...base,
      acl: { sddl: 'D:(A;OICI;FA;;;WD)', problem: 'it inherits entries from its parent folder' },
    });
    expect(lines).toContain('service: installed, stopped');
    expect(lines).toContain('enrolled: unknown (agent state: not JSON)');
    expect(lines).toContain('  access: D:(A;OICI;FA;;;WD) (WRONG: it inherits entries from its parent folder)');
    const wine = statusLines({
      ...base,
      acl: { sddl: 'D:(A;OICI;FA;;;WD)', problem: 'x', unverifiable: 'Wine 8.0 keeps no access lists' },
    });
    expect(wine).toContain('  access: D:(A;OICI;FA;;;WD) (not checkable: Wine 8.0 keeps no access lists)');
    const denied = statusLines({
      ...base,
      enrollment: 'the data folder cannot be read here: run lr-agent status as an administrator',
      acl: { sddl: '', problem: null, unverifiable: 'access denied: run lr-agent status as an administrator' },
    });
    expect(denied).toContain(
      'enrolled: unknown (the data folder cannot be read here: run lr-agent status as an administrator)',
    );
    expect(denied).toContain('  access: ? (not checkable: access denied: run lr-agent status as an administrator)');
  });
});

describe('who can change what the service runs', () => {
  it('nobody but SYSTEM, Administrators and TrustedInstaller on a Program Files install', () => {
    const ti = 'S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464';
    // %ProgramFiles%\nodejs as Windows sets it: users read and execute, CREATOR OWNER only for children (IO).
    const programFiles = `O:${ti}D:PAI(A;;FA;;;${ti})(A;OICIIO;GA;;;${ti})(A;;0x1301bf;;;SY)(A;OICIIO;GA;;;SY)(A;;0x1301bf;;;BA)(A;OICIIO;GA;;;BA)(A;;0x1200a9;;;BU)(A;OICIIO;GXGR;;;BU)(A;OICIIO;GA;;;CO)`;
    expect(untrustedWriters(programFiles, 'item')).toEqual([]);
    // C:\ itself: Authenticated Users may create folders (LC/AD) but not delete or rename children.
    expect(
      untrustedWriters(
        'O:SYD:PAI(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)(A;OICIIO;SDGXGWGR;;;AU)(A;;LC;;;AU)',
        'ancestor',
      ),
    ).toEqual([]);
  });

  it("names a user's folder, a writable file, a folder where children can be replaced, a foreign owner, a null list", () => {
    const userDir = 'O:S-1-5-21-1-2-3-1001D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;S-1-5-21-1-2-3-1001)';
    expect(untrustedWriters(userDir, 'item')).toEqual(['S-1-5-21-1-2-3-1001 (owner)', 'S-1-5-21-1-2-3-1001']);
    expect(untrustedWriters('O:BAD:(A;;0x1200a9;;;BU)(A;;0x2;;;AU)', 'item')).toEqual(['AU']); // add a file (a DLL next to node.exe)
    expect(untrustedWriters('O:BAD:(A;;FW;;;BU)', 'item')).toEqual(['BU']);
    expect(untrustedWriters('O:BAD:(A;;DT;;;WD)', 'ancestor')).toEqual(['WD']); // delete child: rename and replace
    expect(untrustedWriters('O:BAD:(A;;WD;;;IU)', 'ancestor')).toEqual(['IU']); // WRITE_DAC: grant oneself the rest
    expect(untrustedWriters('O:BAD:(A;;FW;;;BU)', 'ancestor')).toEqual([]); // write data on a folder above: no child replaced
    expect(untrustedWriters('O:BAD:(A;;XY;;;BU)', 'ancestor')).toEqual(['BU']); // an unknown right counts as every right
    expect(untrustedWriters('O:BAD:NO_ACCESS_CONTROL', 'item')).toEqual(['everyone (no access list)']);
  });
});
