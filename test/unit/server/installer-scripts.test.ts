// The installer scripts' text (installer-scripts.ts): every embedded value stays data, whatever it holds.
// Quoting is checked with the real bash; PowerShell (pwsh) is not in Debian, so its quoting is checked on
// the text: inside a single-quoted PowerShell string only a quote (ASCII or typographic) ends the string,
// and every one of them must come doubled.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  downloadBase,
  installerScript,
  powershellQuote,
  shellQuote,
  type InstallerInput,
} from '../../../src/server/installer-scripts.js';

const HOSTILE = [
  `'; touch /tmp/pwned; '`,
  `$(touch /tmp/pwned)`,
  '`touch /tmp/pwned`',
  `"$HOME" \\' \\\\ ' ''`,
  `a'b'"c"`,
  `‘’‚‛ ' $(x) ${'${x}'}`,
  `-n`,
  `*`,
  `!event`,
  ``,
];

const CA = `-----BEGIN CERTIFICATE-----\nMIIBgDCCASWgAwIBAgIQ\nAAAA\n-----END CERTIFICATE-----\n`;
const input = (over: Partial<InstallerInput> = {}): InstallerInput => ({
  os: 'linux',
  serviceUrl: 'wss://lr.example.com:8443',
  ca: CA,
  bundleJson: JSON.stringify({ kind: 'lr-enrollment', token: 'x', note: `'; rm -rf / #\n$(id)` }),
  token: 'lre_abcdefghijkl_' + 'A'.repeat(43),
  expiresAt: '2026-12-06T15:00:00.000Z',
  files: [{ target: 'linux-x64', sha256: 'a'.repeat(64), size: 10 }],
  ...over,
});

const dir = mkdtempSync(join(tmpdir(), 'lr-installer-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('shellQuote', () => {
  it.each(HOSTILE)('bash reads %j back as the very same string, running nothing', (value) => {
    const out = execFileSync('bash', ['-c', `printf '%s' ${shellQuote(value)}`], { encoding: 'utf8' });
    expect(out).toBe(value);
  });

  it('refuses control characters (a newline would end a line of the script)', () => {
    expect(() => shellQuote('a\nb')).toThrow(/control character/);
    expect(() => shellQuote('a\rb')).toThrow(/control character/);
  });
});

describe('powershellQuote', () => {
  it.each(HOSTILE)('%j: every quote inside is doubled, so the string cannot end early', (value) => {
    const q = powershellQuote(value);
    expect(q.startsWith("'") && q.endsWith("'")).toBe(true);
    const inner = q.slice(1, -1);
    // Read as PowerShell does: a quote followed by a quote is one literal quote; a lone quote would end it.
    let read = '';
    for (let i = 0; i < inner.length; i++) {
      const c = inner[i] as string;
      if (/['\u2018-\u201b]/.test(c)) {
        expect(/['\u2018-\u201b]/.test(inner[i + 1] ?? ''), `lone quote at ${i} in ${q}`).toBe(true);
        i++;
      }
      read += c;
    }
    expect(read).toBe(value);
  });
});

describe('downloadBase', () => {
  it('turns the service address into https://host:port', () => {
    expect(downloadBase('wss://lr.example.com:8443')).toBe('https://lr.example.com:8443');
    expect(downloadBase('wss://[::1]:8443')).toBe('https://[::1]:8443');
    expect(downloadBase('wss://10.0.0.1:443/some/path')).toBe('https://10.0.0.1');
  });

  it.each([`wss://a'b:8443`, 'wss://a$(id):1', 'wss://a`id`:1', 'wss://user:pw@host:1', 'not a url'])(
    'refuses %j',
    (url) => {
      expect(() => downloadBase(url)).toThrow(/installer|not a URL/);
    },
  );
});

describe('installerScript', () => {
  it('the bash script is valid bash, and its values are what was given', () => {
    const s = installerScript(input());
    expect(s.fileName).toBe('lr-install-linux.sh');
    expect(s.command).toBe('sudo bash lr-install-linux.sh');
    const file = join(dir, 'ok.sh');
    writeFileSync(file, s.text);
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    // The variable block, evaluated alone, gives back the inputs.
    const vars = s.text
      .split('\n')
      .filter((l) => /^LR_[A-Z0-9_]+=/.test(l))
      .join('\n');
    const out = execFileSync(
      'bash',
      [
        '-c',
        `${vars}\nprintf '%s\\n' "$LR_BASE" "$LR_SHA256_LINUX_X64" "$LR_SHA256_LINUX_ARM64"; printf '%s' "$LR_BUNDLE_B64" | base64 -d; echo; printf '%s' "$LR_CA_B64" | base64 -d`,
      ],
      { encoding: 'utf8' },
    );
    const [base, x64, arm64, bundle, ...ca] = out.split('\n');
    expect(base).toBe('https://lr.example.com:8443');
    expect(x64).toBe('a'.repeat(64));
    expect(arm64).toBe('');
    expect(bundle).toBe(input().bundleJson);
    expect(ca.join('\n')).toBe(CA);
  });

  it('no value of the inputs appears raw in the text: only base64, hex or checked values', () => {
    const s = installerScript(input()).text;
    expect(s).not.toContain('rm -rf /');
    expect(s).not.toContain('$(id)');
    expect(s).not.toContain(input().token); // only inside base64
    const w = installerScript(
      input({ os: 'windows', files: [{ target: 'win-x64', sha256: 'b'.repeat(64), size: 1 }] }),
    ).text;
    expect(w).not.toContain('rm -rf /');
    expect(w).not.toContain(input().token);
  });

  it.each([
    ['a CA that is not one PEM certificate', { ca: `${CA}'; evil\n` }, /CA certificate/],
    ['a malformed token', { token: `lre_x'$(id)` }, /token/],
    ['an expiry that is not an ISO time', { expiresAt: `2026'; id; '` }, /ISO/],
    ['a malformed hash', { files: [{ target: 'linux-x64' as const, sha256: `'$(id)'`, size: 1 }] }, /SHA-256/],
    ['a hostile service address', { serviceUrl: `wss://host'$(id):1` }, /installer/],
    ['no agent file', { files: [] }, /no agent file/],
    [
      'a Windows file in a Linux installer',
      { files: [{ target: 'win-x64' as const, sha256: 'a'.repeat(64), size: 1 }] },
      /not a linux target/,
    ],
  ])('refuses %s', (_what, over, error) => {
    expect(() => installerScript(input(over))).toThrow(error);
  });

  it('the bash script picks the agent by uname -m and says in one line when that one is missing', () => {
    const s = installerScript(input());
    const file = join(dir, 'arch.sh');
    writeFileSync(file, s.text);
    const bin = join(dir, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    // A stand-in uname (an arm64 machine) in front of PATH: this unit test only checks the choice.
    writeFileSync(join(bin, 'uname'), '#!/bin/sh\necho aarch64\n');
    chmodSync(join(bin, 'uname'), 0o755);
    const r = spawnSync('bash', [file, '--data', join(dir, 'd'), '--no-service'], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'lr-install: the service has no agent file for linux-arm64 yet: ask an admin to add one (lr-server agent-files add FILE --target linux-arm64)\n',
    );
  });

  it('the bash script prints its usage with --help, and nothing of its values', () => {
    const file = join(dir, 'help.sh');
    writeFileSync(file, installerScript(input()).text);
    const help = spawnSync('bash', [file, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('sudo bash lr-install-linux.sh [--name NAME] [--data DIR]');
    expect(help.stdout).toContain('bash lr-install-linux.sh --data DIR --no-service');
    expect(help.stdout).not.toMatch(/^set |LR_|#/m);
  });

  it('the bash script refuses unknown options and --no-service without --data, in one line', () => {
    const file = join(dir, 'opts.sh');
    writeFileSync(file, installerScript(input()).text);
    const bad = spawnSync('bash', [file, '--evil'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('lr-install: unknown option --evil (see --help)\n');
    const noData = spawnSync('bash', [file, '--no-service'], { encoding: 'utf8' });
    expect(noData.status).toBe(1);
    expect(noData.stderr).toBe("lr-install: --no-service needs --data DIR (the agent's data folder)\n");
  });

  it('the PowerShell script pins the download to the embedded CA with a chain check, never "accept all"', () => {
    const s = installerScript(
      input({ os: 'windows', files: [{ target: 'win-x64', sha256: 'b'.repeat(64), size: 1 }] }),
    );
    expect(s.fileName).toBe('lr-install-windows.ps1');
    expect(s.command).toBe('powershell -ExecutionPolicy Bypass -File .\\lr-install-windows.ps1');
    expect(s.text).toContain("$LrSha256 = '" + 'b'.repeat(64) + "'");
    expect(s.text).toContain("$LrBase = 'https://lr.example.com:8443'");
    expect(s.text).toContain('own.ChainPolicy.ExtraStore.Add(Ca)');
    expect(s.text).toMatch(/root\[i\] != ca\[i\]\) return false/);
    expect(s.text).toContain('RemoteCertificateNameMismatch');
    // The hash is checked before the file is moved where it would run.
    expect(s.text.indexOf('if ($got -ne $LrSha256)')).toBeLessThan(s.text.indexOf('Move-Item'));
    expect(s.text).not.toMatch(/\{\s*\$true\s*\}/);
  });
});
