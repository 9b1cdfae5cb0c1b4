// Remember the sender's recent shares in this browser (localStorage), to watch or delete them.
//
// Each entry holds the share id, its owner token, a name, the kind and the expiry: enough to ask
// "was it opened?" and to delete it. Never the link's secret: whoever reads this storage can see
// that a share exists and delete it, but cannot open it.

const KEY = 'onetimeshare.recent';
const MAX_ENTRIES = 20;

function load() {
  try {
    const entries = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(entries) ? entries.filter(isEntry) : [];
  } catch {
    return [];
  }
}

function isEntry(entry) {
  return entry && typeof entry.id === 'string' && typeof entry.ownerToken === 'string';
}

function save(entries) {
  try {
    localStorage.setItem(KEY, JSON.stringify(entries.slice(0, MAX_ENTRIES)));
  } catch {
    // storage full or disabled (private mode): the list is a convenience, not a promise
  }
}

/** Return the shares that have not expired yet, newest first; expired ones are dropped. */
export function listShares(now = Date.now()) {
  const entries = load();
  const live = entries.filter((entry) => Date.parse(entry.expiresAt) > now);
  if (live.length !== entries.length) save(live);
  return live;
}

/** Remember a new share: {id, ownerToken, name, kind, expiresAt}. */
export function addShare({ id, ownerToken, name, kind, expiresAt }) {
  const entry = { id, ownerToken, name, kind, expiresAt, createdAt: new Date().toISOString() };
  save([entry, ...load().filter((other) => other.id !== id)]);
  return entry;
}

/** Forget a share (deleted, or no longer known to the server). */
export function forgetShare(id) {
  save(load().filter((entry) => entry.id !== id));
}

/** Forget every share this browser remembers (on a shared computer, for instance). */
export function forgetAll() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // storage disabled: nothing was kept
  }
}
