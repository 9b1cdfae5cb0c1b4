// Words and numbers for people: sizes, speeds, durations and dates, in the page's language.
//
// Every word comes from the catalogue (i18n.js); numbers and dates from Intl in the catalogue's
// locale. A number and its unit are joined by a no-break space, so "2.2 GB" never wraps between
// the two on a narrow screen: the catalogues write one, and unbreakable() makes sure of it for
// a catalogue that does not.

import { currentLocale, t } from './i18n.js';

const UNITS = ['size.kb', 'size.mb', 'size.gb', 'size.tb'];

/** Return `text` (a number and its unit, nothing else) with no space a line may break at. */
function unbreakable(text) {
  return text.replace(/ /g, '\u00a0');
}

/** Return a size such as "512 bytes", "1.4 MB" (powers of 1000, as file managers show them). */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  if (bytes < 1000) return unbreakable(t('size.bytes', { count: bytes }));
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = value < 10 ? 1 : 0;
  const number = value.toLocaleString(currentLocale(), { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return unbreakable(t(UNITS[unit], { value: number }));
}

/** Return a transfer speed such as "12 MB/s". */
export function formatSpeed(bytesPerSecond) {
  return Number.isFinite(bytesPerSecond) && bytesPerSecond > 0
    ? t('size.per-second', { size: formatBytes(Math.round(bytesPerSecond)) }) : '–';
}

/** Return a duration such as "45 s", "3 min 20 s", "2 h 5 min". */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  if (s < 60) return t('duration.seconds', { s });
  const minutes = Math.floor(s / 60);
  if (minutes < 60) {
    return s % 60 && minutes < 10 ? t('duration.minutes-seconds', { min: minutes, s: s % 60 }) : t('duration.minutes', { min: minutes });
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? t('duration.hours-minutes', { h: hours, min: minutes % 60 }) : t('duration.hours', { h: hours });
  return t('duration.days', { count: Math.round(hours / 24) });
}

/** Return an expiry choice such as "5 minutes", "1 hour", "7 days". */
export function formatPeriod(seconds) {
  const units = [[86400, 'period.days'], [3600, 'period.hours'], [60, 'period.minutes'], [1, 'period.seconds']];
  for (const [size, key] of units) {
    if (seconds >= size && seconds % size === 0) return t(key, { count: seconds / size });
  }
  return t('period.seconds', { count: seconds });
}

/** Return a moment as "in 58 minutes" / "3 minutes ago", relative to now. */
export function formatRelative(date, now = Date.now()) {
  const relative = new Intl.RelativeTimeFormat(currentLocale(), { numeric: 'auto' });
  const seconds = (new Date(date).getTime() - now) / 1000;
  const steps = [[86400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [size, unit] of steps) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return relative.format(Math.round(seconds), 'second');
}

/** Return a moment as a date and time, or only a time when it is today. */
export function formatDate(date, now = new Date()) {
  const when = new Date(date);
  if (when.toDateString() === now.toDateString()) {
    return t('date.today-at', { time: new Intl.DateTimeFormat(currentLocale(), { timeStyle: 'short' }).format(when) });
  }
  return new Intl.DateTimeFormat(currentLocale(), { dateStyle: 'medium', timeStyle: 'short' }).format(when);
}

/** Return `text` with its first letter in upper case, for the start of a line. */
export function capitalize(text) {
  return text ? text[0].toLocaleUpperCase(currentLocale()) + text.slice(1) : text;
}

/** Return the short badge shown for a file: its extension ("PDF"), or "FILE". */
export function fileBadge(name) {
  const dot = name.lastIndexOf('.');
  return (dot > 0 ? name.slice(dot + 1, dot + 5).toUpperCase() : '') || t('badge.file');
}
