/**
 * Driver paths as the kernel and the SCM write them, made into ordinary Win32 paths (pure: unit-tested on
 * any OS). The kernel and ImagePath values use NT forms: `\SystemRoot\system32\drivers\x.sys`,
 * `\??\C:\dir\x.sys`, `System32\drivers\x.sys` (relative to the Windows folder), `\Windows\...`.
 */

/** A driver path as a Win32 path (`C:\Windows\System32\drivers\x.sys`), given the Windows folder (`C:\Windows`). */
export function resolveDriverPath(raw: string, systemRoot: string): string {
  let p = raw.trim();
  if (p.length >= 2 && p.startsWith('"') && p.endsWith('"')) p = p.slice(1, -1);
  const root = systemRoot.replace(/[\\/]+$/, '');
  p = p.replace(/^(\\\?\?\\|\\\\\?\\)/, '');
  p = p.replace(/^%(systemroot|windir)%/i, root);
  p = p.replace(/^\\systemroot(?=\\|$)/i, root);
  if (/^[a-z]:/i.test(p) || p.startsWith('\\\\')) return p;
  if (/^\\windows(?=\\|$)/i.test(p)) return `${root.slice(0, 2)}${p}`;
  // \Device\HarddiskVolume1\..., a form this function cannot map to a drive letter: shown as the kernel has it.
  if (p.startsWith('\\')) return p;
  return `${root}\\${p}`;
}

/** The file name of a Windows path, lower-cased (how the loaded-module list and the SCM entries are joined). */
export function baseNameOf(path: string): string {
  return (path.split(/[\\/]/).pop() ?? path).toLowerCase();
}

/** Where Windows looks for a driver whose service has no ImagePath. */
export function defaultDriverPath(name: string, systemRoot: string): string {
  return `${systemRoot.replace(/[\\/]+$/, '')}\\System32\\drivers\\${name}.sys`;
}
