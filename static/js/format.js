// Words and numbers for people: sizes, speeds, durations and dates, in the browser's locale.

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB'];

/** Return a size such as "512 bytes", "1.4 MB" (powers of 1000, as file managers show them). */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  if (bytes < 1000) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = value < 10 ? 1 : 0;
  return `${value.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits })} ${UNITS[unit]}`;
}

/** Return a transfer speed such as "12 MB/s". */
export function formatSpeed(bytesPerSecond) {
  return Number.isFinite(bytesPerSecond) && bytesPerSecond > 0 ? `${formatBytes(Math.round(bytesPerSecond))}/s` : '–';
}

/** Return a duration such as "45 s", "3 min 20 s", "2 h 5 min". */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return s % 60 && minutes < 10 ? `${minutes} min ${s % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
  return `${Math.round(hours / 24)} days`;
}

/** Return an expiry choice such as "5 minutes", "1 hour", "7 days". */
export function formatPeriod(seconds) {
  const units = [[86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const count = seconds / size;
      return `${count} ${name}${count === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const ABSOLUTE = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const TIME_ONLY = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });

/** Return a moment as "in 58 minutes" / "3 minutes ago", relative to now. */
export function formatRelative(date, now = Date.now()) {
  const seconds = (new Date(date).getTime() - now) / 1000;
  const steps = [[86400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [size, unit] of steps) {
    if (Math.abs(seconds) >= size) return RELATIVE.format(Math.round(seconds / size), unit);
  }
  return RELATIVE.format(Math.round(seconds), 'second');
}

/** Return a moment as a date and time, or only a time when it is today. */
export function formatDate(date) {
  const when = new Date(date);
  const today = new Date();
  return when.toDateString() === today.toDateString() ? `today at ${TIME_ONLY.format(when)}` : ABSOLUTE.format(when);
}

/** Return "1 download" / "3 downloads". */
export function plural(count, word, words = `${word}s`) {
  return `${count.toLocaleString()} ${count === 1 ? word : words}`;
}

/** Return `text` with its first letter in upper case, for the start of a line. */
export function capitalize(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

/** Return the short badge shown for a file: its extension ("PDF"), or "FILE". */
export function fileBadge(name) {
  const dot = name.lastIndexOf('.');
  return (dot > 0 ? name.slice(dot + 1, dot + 5).toUpperCase() : '') || 'FILE';
}
