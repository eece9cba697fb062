/**
 * An instant as the analyst chose to see times (Settings: UTC by default, local, or an IANA zone), with
 * its zone. A <time> element: its `dateTime` keeps the exact ISO value for copy and for tests.
 */
import { formatInstant, formatInstantShort, resolveTimeZone } from '../../../shared/time-format.js';
import { useAppStore } from '../state/app-store.js';

export function Instant({
  iso,
  short,
  className,
}: {
  iso: string | null | undefined;
  short?: boolean;
  className?: string;
}) {
  const zone = resolveTimeZone(useAppStore((state) => state.timeZone));
  if (!iso) return null;
  const full = formatInstant(iso, zone);
  return (
    <time dateTime={iso} className={className} title={short ? full : undefined} data-instant="">
      {short ? formatInstantShort(iso, zone) : full}
    </time>
  );
}
