/**
 * Dates: stored as UTC DATETIME(6) strings (`YYYY-MM-DD HH:MM:SS.ffffff`,
 * mysql2 `dateStrings`), sent as ISO 8601 with the TIME_ZONE offset and six
 * fractional digits: `2021-04-22T17:24:02.807658+03:00`.
 */

/** Now, in UTC with microseconds, as DATETIME(6) wants it. */
export function nowUtc(): string {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const d = new Date(Math.floor(micros / 1000));
  const frac = String(micros % 1_000_000).padStart(6, '0');
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}.${frac}`;
}

/** epoch ms → `YYYY-MM-DD HH:MM:SS.ffffff` (UTC), as DATETIME(6) holds it (millisecond precision). */
export function utcAt(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 23).replace('T', ' ')}000`;
}

/** `ms` milliseconds ago, in UTC, as DATETIME(6) wants it. */
export function utcAgo(ms: number): string {
  return utcAt(Date.now() - ms);
}

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

function offsetMinutes(utcMs: number, timeZone: string): number {
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 0;
  let fmt = offsetFormats.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
    offsetFormats.set(timeZone, fmt);
  }
  const name = fmt.formatToParts(new Date(utcMs)).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC) → ISO 8601 in `timeZone` with microseconds. */
export function formatDate(utc: string, timeZone: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?/.exec(utc);
  if (!m) throw new Error('unexpected date format');
  const frac = (m[3] ?? '').padEnd(6, '0');
  const utcMs = Date.parse(`${m[1]}T${m[2]}Z`);
  const off = offsetMinutes(utcMs, timeZone);
  const local = new Date(utcMs + off * 60_000).toISOString().slice(0, 19);
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}.${frac}${sign}${hh}:${mm}`;
}
