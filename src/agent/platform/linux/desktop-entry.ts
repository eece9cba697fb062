/** The keys of a freedesktop `.desktop` file that say what an autostart entry runs. */

export interface DesktopEntry {
  name: string | null;
  exec: string | null;
  /** `Hidden=true` or `X-GNOME-Autostart-enabled=false`: present but switched off. */
  disabled: boolean;
}

export function parseDesktopEntry(text: string): DesktopEntry {
  const entry: DesktopEntry = { name: null, exec: null, disabled: false };
  let inMain = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      inMain = line === '[Desktop Entry]';
      continue;
    }
    if (!inMain) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'Name') entry.name = value;
    else if (key === 'Exec') entry.exec = value;
    else if ((key === 'Hidden' && value === 'true') || (key === 'X-GNOME-Autostart-enabled' && value === 'false'))
      entry.disabled = true;
  }
  return entry;
}
