"""Build and parse share links: ``{base}/s/{id}#{secret}`` (protocol.md §1).

The secret lives in the fragment, which browsers never send to a server. A malformed link is
refused here, before anything talks to the server.
"""

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .encoding import b64u_decode, b64u_encode
from .errors import LinkError, ProtocolError
from .keys import SECRET_LENGTH

SHARE_ID_LENGTH = 16  # bytes; 22 characters of base64url
SHARE_PATH = "/s/"
_SCHEMES = ("http", "https")


@dataclass(frozen=True)
class Link:
    """The parts of a share link; repr hides the secret so it never reaches a log."""

    base_url: str
    share_id: str
    secret: bytes = field(repr=False)


def build_link(base_url: str, share_id: str, secret: bytes) -> str:
    """Return the link a sender hands out for a share.

    Raises ProtocolError for a malformed share id (it comes from the server) and ValueError for a
    bad base URL or a secret of the wrong length (both are the caller's own).
    """
    base = base_url.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme.lower() not in _SCHEMES or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"base URL must be an http(s) URL without query or fragment: {base_url!r}")
    check_share_id(share_id)
    if len(secret) != SECRET_LENGTH:
        raise ValueError(f"the link secret must be exactly {SECRET_LENGTH} bytes")
    return f"{base}{SHARE_PATH}{share_id}#{b64u_encode(secret)}"


def parse_link(link: str) -> Link:
    """Split a share link into base URL, share id and secret; LinkError if malformed.

    The base URL may carry a path prefix (``https://host/share/s/<id>``) for servers mounted
    below the root: it is everything before the last ``/s/``, and the API lives at
    ``{base}/api/v1``. Surrounding white space, which copy and paste tends to add, is ignored.
    Refused (protocol.md, "Links"): another scheme, a query string, a path not ending in
    ``/s/<22 characters>`` (so no trailing slash), no fragment, and a fragment that is not the
    canonical unpadded base64url of exactly 16 bytes.
    """
    try:
        return _parse_link(link)
    except ProtocolError as error:  # from the base64url decoder
        raise LinkError(str(error)) from None


def _parse_link(link: str) -> Link:
    if not isinstance(link, str):
        raise LinkError("a link must be text")
    parts = urlsplit(link.strip())
    if parts.scheme.lower() not in _SCHEMES or not parts.netloc:
        raise LinkError("a link must be an http:// or https:// URL")
    if parts.query:
        raise LinkError("a share link has no query string")
    prefix, marker, share_id = parts.path.rpartition(SHARE_PATH)
    if not marker:
        raise LinkError("a share link's path must end with /s/<id>")
    check_share_id(share_id)
    if not parts.fragment:
        raise LinkError("the link has no secret after '#'; it may have been cut off")
    secret = b64u_decode(parts.fragment)
    if len(secret) != SECRET_LENGTH:
        raise LinkError(f"the link secret must decode to {SECRET_LENGTH} bytes")
    base_url = f"{parts.scheme}://{parts.netloc}{prefix}"
    return Link(base_url=base_url, share_id=share_id, secret=secret)


def check_share_id(share_id: str) -> str:
    """Return the share id if it is 22 characters of base64url for 16 bytes; else ProtocolError."""
    if not isinstance(share_id, str) or len(share_id) != 22:
        raise ProtocolError("a share id must be 22 characters of base64url")
    if len(b64u_decode(share_id)) != SHARE_ID_LENGTH:  # pragma: no cover - 22 chars are 16 bytes
        raise ProtocolError(f"a share id must decode to {SHARE_ID_LENGTH} bytes")
    return share_id
