// Build and parse share links: `{origin}/s/{id}#{secret}` (protocol.md §1).
//
// The secret lives in the fragment, which browsers never send to a server. A malformed link is
// refused here, before anything talks to the server. Same rules as onetimeshare/links.py.

import { b64uDecode, b64uEncode } from './encoding.js';
import { LinkError, ProtocolError } from '../errors.js';
import { SECRET_LENGTH } from './keys.js';

export const SHARE_ID_LENGTH = 16; // bytes
export const SHARE_ID_CHARS = 22; // base64url characters for 16 bytes
export const SHARE_PATH = '/s/';
const SCHEMES = ['http', 'https'];
// scheme://netloc path ?query #fragment, split the way Python's urlsplit splits them. A parser
// of our own rather than URL(), which would quietly repair links (extra slashes, dot segments)
// that the Python client refuses.
const URL_PARTS = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s;

/**
 * Return the link a sender hands out: `${origin}/s/${shareId}#${b64u(secret)}`.
 *
 * `origin` may carry a path prefix for a server mounted below the root; trailing slashes go.
 * @throws {ProtocolError} a malformed share id (it comes from the server)
 * @throws {TypeError|RangeError} a bad origin or a secret that is not 16 bytes (the caller's own)
 */
export function buildLink(origin, shareId, secret) {
  const base = typeof origin === 'string' ? origin.replace(/\/+$/, '') : '';
  const parts = splitUrl(base);
  if (!parts || parts.query !== undefined || parts.fragment !== undefined) {
    throw new TypeError(`origin must be an http(s) URL without query or fragment: ${JSON.stringify(origin)}`);
  }
  try {
    checkShareId(shareId);
  } catch (error) {
    throw error instanceof LinkError ? new ProtocolError(`the server sent ${error.message}`, { cause: error }) : error;
  }
  if (!(secret instanceof Uint8Array)) throw new TypeError('the link secret must be a Uint8Array');
  if (secret.length !== SECRET_LENGTH) throw new RangeError(`the link secret must be exactly ${SECRET_LENGTH} bytes`);
  return `${base}${SHARE_PATH}${shareId}#${b64uEncode(secret)}`;
}

/**
 * Split a share link into {origin, shareId, secret}; LinkError if anything is malformed.
 *
 * `origin` is everything before `/s/<id>`: scheme (lower-cased), host and any path prefix, so
 * buildLink(origin, shareId, secret) gives the link back. Surrounding white space is ignored.
 */
export function parseLink(url) {
  if (typeof url !== 'string') throw new LinkError('a link must be text');
  const parts = splitUrl(url.trim());
  if (!parts) throw new LinkError('a link must be an http:// or https:// URL');
  if (parts.query) throw new LinkError("a share link has no query string");
  const marker = parts.path.lastIndexOf(SHARE_PATH);
  if (marker < 0) throw new LinkError("a share link's path must end with /s/<id>");
  const shareId = checkShareId(parts.path.slice(marker + SHARE_PATH.length));
  if (!parts.fragment) throw new LinkError("the link has no secret after '#'; it may have been cut off");
  const secret = secretFromFragment(parts.fragment);
  return { origin: `${parts.scheme}://${parts.netloc}${parts.path.slice(0, marker)}`, shareId, secret };
}

/** Return the secret held by a fragment such as `location.hash` ('#...' or '...'); LinkError if bad. */
export function secretFromFragment(hash) {
  if (typeof hash !== 'string') throw new LinkError('a link fragment must be text');
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  if (!text) throw new LinkError("the link has no secret after '#'; it may have been cut off");
  const secret = decodeLinkPart(text, 'the link secret');
  if (secret.length !== SECRET_LENGTH) {
    throw new LinkError(`the link secret must decode to ${SECRET_LENGTH} bytes`);
  }
  return secret;
}

/** Return the share id if it is 22 characters of canonical base64url; else LinkError. */
export function checkShareId(shareId) {
  if (typeof shareId !== 'string' || shareId.length !== SHARE_ID_CHARS) {
    throw new LinkError(`a share id must be ${SHARE_ID_CHARS} characters of base64url`);
  }
  decodeLinkPart(shareId, 'a share id'); // 22 valid characters are always 16 bytes: checks the form
  return shareId;
}

/** Decode a base64url part of a link; a malformed one is the link's fault, so LinkError. */
function decodeLinkPart(text, what) {
  try {
    return b64uDecode(text);
  } catch (error) {
    if (error instanceof ProtocolError) throw new LinkError(`${what} is not base64url: ${error.message}`, { cause: error });
    throw error;
  }
}

function splitUrl(text) {
  const match = URL_PARTS.exec(text);
  if (!match) return null;
  const [, scheme, netloc, path, query, fragment] = match;
  if (!SCHEMES.includes(scheme.toLowerCase()) || !netloc) return null;
  return { scheme: scheme.toLowerCase(), netloc, path, query, fragment };
}
