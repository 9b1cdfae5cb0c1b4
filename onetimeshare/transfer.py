"""Send and receive whole shares: encrypt while uploading, decrypt while downloading.

Both directions stream in bounded memory: at most one upload chunk (plus one read) is held on
the way up, and one RFC 8188 record on the way down. A dropped connection or a 503 is retried: an
upload chunk is simply sent again (the server stores chunks idempotently), and a download resumes
with `Range` from the last ciphertext byte received, while the claim is alive. `send` pulls from
a readable source; `start_send` returns an `Upload` for producers that push (a zip writer).
"""

import time
from dataclasses import dataclass, field

import httpx

from . import PROTOCOL_VERSION
from .api import ApiError, Forbidden, ShareApi, Unavailable
from .ece import Decryptor, Encryptor, encrypted_size
from .encoding import b64u_decode, b64u_encode
from .errors import OneTimeShareError, ProtocolError, UnsupportedVersion
from .keys import PasswordParams, derive_keys, new_password_params, new_secret
from .links import Link, build_link, parse_link
from .metadata import decrypt_metadata, encrypt_metadata

READ_SIZE = 1 << 20
RETRIES = 5
RETRY_PAUSE_SECONDS = 0.5


class PasswordRequired(OneTimeShareError):
    """The share has a password and none was given."""


class DownloadFailed(OneTimeShareError):
    """The server broke off or garbled a download in a way that resuming cannot fix."""


@dataclass(frozen=True)
class SentShare:
    """What the sender keeps: the link to hand out and the token to watch or delete it."""

    link: str = field(repr=False)
    share_id: str
    owner_token: str = field(repr=False)
    expires_at: str


def send(api: ShareApi, source, plaintext_size, metadata, *, password=None, expires_in=None,
         downloads=1, progress=None) -> SentShare:
    """Encrypt `plaintext_size` bytes read from `source` and upload them as a new share.

    `progress`, if given, is called with the number of ciphertext bytes uploaded so far.
    """
    upload = start_send(api, plaintext_size, metadata, password=password, expires_in=expires_in,
                        downloads=downloads, progress=progress)
    remaining = plaintext_size
    while remaining:
        data = source.read(min(READ_SIZE, remaining))
        if not data:
            raise OneTimeShareError(f"the input ended {remaining} bytes early")
        remaining -= len(data)
        upload.write(data)
    return upload.close()


def start_send(api: ShareApi, plaintext_size, metadata, *, password=None, expires_in=None,
               downloads=1, progress=None) -> "Upload":
    """Create a share for `plaintext_size` bytes and return the `Upload` that fills it.

    For producers that push their output (a zip writer) rather than offer a `read` method; `send`
    is the same thing for a readable source.
    """
    secret = new_secret()
    params = new_password_params() if password is not None else None
    keys = derive_keys(secret, password, params)
    size = encrypted_size(plaintext_size)
    fields = {
        "version": PROTOCOL_VERSION, "size": size, "downloads": downloads,
        "verifier": b64u_encode(keys.verifier),
        "metadata": encrypt_metadata(metadata, keys.metadata_key),
        "password": None if params is None else {
            "salt": b64u_encode(params.salt), "iterations": params.iterations},
    }
    if expires_in is not None:
        fields["expires_in"] = expires_in
    created = api.create(**fields)
    return Upload(api, created, secret, keys.content_ikm, plaintext_size, size, progress)


class Upload:
    """A created share being filled: `write` its plaintext in pieces, then `close` it.

    Plaintext is encrypted as it arrives and cut into the server's chunks, so at most one chunk
    is held. Writing more or fewer bytes than were declared is refused, since the server expects
    the exact ciphertext size announced at creation.
    """

    def __init__(self, api, created, secret, content_ikm, plaintext_size, size, progress):
        self.api = api
        self.share_id, self.owner_token = created["id"], created["owner_token"]
        self.expires_at = created["expires_at"]
        self.size = size
        self._secret = secret
        self._encryptor = Encryptor(content_ikm)
        self._uploader = _ChunkUploader(api, self.share_id, self.owner_token,
                                        created["chunk_size"], progress)
        self._remaining = plaintext_size

    def write(self, data) -> int:
        """Encrypt and upload `data` (whole chunks as soon as they fill); return its length."""
        if len(data) > self._remaining:
            raise OneTimeShareError("the input is longer than the size declared for the share")
        self._remaining -= len(data)
        self._uploader.feed(self._encryptor.update(data))
        return len(data)

    def close(self) -> SentShare:
        """Upload the last records and finalize the share; return the link and owner token."""
        if self._remaining:
            raise OneTimeShareError(f"the input ended {self._remaining} bytes early")
        self._uploader.feed(self._encryptor.finalize())
        self._uploader.flush()
        if self._uploader.sent != self.size:  # only if encrypted_size and Encryptor disagree
            raise ProtocolError(f"encrypted {self._uploader.sent} bytes, declared {self.size}")
        _with_retries(lambda: self.api.finalize(self.share_id, self.owner_token))
        return SentShare(build_link(self.api.base_url, self.share_id, self._secret),
                         self.share_id, self.owner_token, self.expires_at)

    def abort(self):
        """Delete the unfinished share, best effort: the server drops it after a while anyway."""
        try:
            self.api.delete(self.share_id, self.owner_token)
        except (ApiError, httpx.HTTPError):
            pass


class _ChunkUploader:
    """Cut the ciphertext stream into the server's chunks and upload each one."""

    def __init__(self, api, share_id, owner_token, chunk_size, progress):
        self.api, self.share_id, self.owner_token = api, share_id, owner_token
        self.chunk_size = chunk_size
        self.progress = progress
        self.buffer = bytearray()
        self.index = 0
        self.sent = 0

    def feed(self, data):
        self.buffer += data
        while len(self.buffer) >= self.chunk_size:
            self._upload(bytes(self.buffer[:self.chunk_size]))
            del self.buffer[:self.chunk_size]

    def flush(self):
        if self.buffer:
            self._upload(bytes(self.buffer))
            self.buffer.clear()

    def _upload(self, chunk):
        index = self.index
        _with_retries(lambda: self.api.put_chunk(self.share_id, self.owner_token, index, chunk))
        self.index += 1
        self.sent += len(chunk)
        if self.progress:
            self.progress(self.sent)


@dataclass(frozen=True)
class ShareInfo:
    """What a recipient learns before claiming: decrypted metadata and public status."""

    share_id: str
    metadata: dict
    status: dict
    keys: object = field(repr=False)


def open_share(api: ShareApi, link, password=None) -> ShareInfo:
    """Read a share's status and decrypt its metadata; consumes nothing."""
    parsed = parse_link(link)
    return unlock_share(parsed, api.status(parsed.share_id), password)


def unlock_share(parsed: Link, status, password=None) -> ShareInfo:
    """Derive the keys of a share from its parsed link and status; decrypt its metadata.

    For callers that read the status first (to learn whether a password is needed before asking
    for one). Raises PasswordRequired, and IntegrityError when the metadata does not decrypt:
    a wrong password, or a damaged link.
    """
    if status.get("version") != PROTOCOL_VERSION:
        raise UnsupportedVersion(f"this client speaks protocol version {PROTOCOL_VERSION}, "
                                 f"the share uses {status.get('version')!r}")
    params = None
    if status.get("password"):
        if password is None:
            raise PasswordRequired("this share is protected by a password")
        params = PasswordParams(b64u_decode(status["password"]["salt"]),
                                status["password"]["iterations"])
    elif password is not None:
        password = None  # the sender set none; the link alone is the key
    keys = derive_keys(parsed.secret, password, params)
    metadata = decrypt_metadata(status["metadata"], keys.metadata_key)
    return ShareInfo(parsed.share_id, metadata, status, keys)


class ClaimLost(Forbidden):
    """403 while fetching: the claim lapsed (idle too long) before the download finished."""


def receive(api: ShareApi, info: ShareInfo, sink, progress=None) -> int:
    """Claim the share and write its decrypted content to `sink`; return plaintext bytes.

    Only authenticated records reach `sink`; a damaged or truncated body raises IntegrityError
    after the last good record, so callers write to a temporary file and keep it only on success.
    A dropped connection or a 503 is retried from the last byte received (`Range`), up to
    RETRIES times in a row without progress.
    """
    claim = api.claim(info.share_id, b64u_encode(info.keys.auth_token))
    decryptor = Decryptor(info.keys.content_ikm)
    received = written = 0
    failures = 0
    while received < claim["size"]:
        start = received
        try:
            with api.content(info.share_id, claim["ticket"], start=start) as response:
                if start and response.status_code != 206:
                    # A server that ignored Range would replay the body from its first byte.
                    raise DownloadFailed(f"asked to resume at byte {start}, the server answered "
                                        f"{response.status_code} instead of 206")
                # As the bytes arrive: data buffered towards a larger piece would be lost
                # with the connection, and the resume would start further back.
                for data in response.iter_raw():
                    received += len(data)
                    plaintext = decryptor.update(data)
                    sink.write(plaintext)
                    written += len(plaintext)
                    if progress:
                        progress(received)
        except Forbidden as refused:
            raise ClaimLost(refused.status, refused.message, refused.body,
                            refused.retry_after) from None
        except (httpx.TransportError, Unavailable) as error:
            if isinstance(error, Unavailable) and error.status != 503:
                raise
            if received > start:
                failures = 0  # this attempt made progress: count only failures in a row
            failures += 1
            if failures > RETRIES:
                raise
            time.sleep(RETRY_PAUSE_SECONDS * failures)
            continue
        if received == start:  # an answer that ends cleanly without a byte would loop forever
            raise DownloadFailed(f"the server stopped sending at byte {received} of "
                                f"{claim['size']}")
    tail = decryptor.finalize()
    sink.write(tail)
    return written + len(tail)


def _with_retries(call):
    """Run `call`, retrying transport failures and 503s (every call it wraps is idempotent)."""
    for attempt in range(RETRIES + 1):
        try:
            return call()
        except (httpx.TransportError, Unavailable) as error:
            # 507 (storage full) is Unavailable too, but waiting seconds will not free space.
            if attempt == RETRIES or getattr(error, "status", 503) != 503:
                raise
            time.sleep(RETRY_PAUSE_SECONDS * (attempt + 1))
