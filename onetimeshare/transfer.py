"""Send and receive whole shares: encrypt while uploading, decrypt while downloading.

Both directions stream in bounded memory and overlap their steps: on the way up a few chunks
are uploaded at once while the next is read and encrypted (UPLOADS_IN_FLIGHT chunks plus one);
on the way down a thread reads a bounded number of body pieces ahead of decryption. A dropped
connection or a 503 is retried: an upload chunk is simply sent again (the server stores chunks
idempotently), and a download resumes with `Range` from the last ciphertext byte received,
while the claim is alive. `send` pulls from
a readable source; `start_send` returns an `Upload` for producers that push (a zip writer).

New shares are protocol v2 (padded content, access and password proofs). Opening reads v2 and,
read-only, v1 shares stored before it (protocol.md, "Version 1").
"""

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import PROTOCOL_VERSION
from .api import ShareApi
from .ece import (
    HEADER_LENGTH,
    RECORD_SIZE,
    TAG_LENGTH,
    Decryptor,
    Encryptor,
    padded_length,
    padded_size,
)
from .encoding import b64u_decode, b64u_encode
from .errors import (
    NETWORK_CODE,
    ApiError,
    ContentChanged,
    PasswordRequired,
    ProtocolError,
    ServerUnavailable,
    UnsupportedVersion,
)
from .keys import PasswordParams, ShareKeys, derive_keys, new_password_params, new_secret
from .links import Link, build_link, parse_link
from .metadata import (
    MAX_METADATA_CHARS,
    check_metadata,
    complete_metadata,
    decrypt_metadata,
    encrypt_metadata,
)

READ_SIZE = 1 << 20
#: Chunks uploaded at once, each on its own connection, while the next one is encrypted.
UPLOADS_IN_FLIGHT = 3
RETRIES = 5
RETRY_PAUSE_SECONDS = 0.5


# Versions this client opens; it creates PROTOCOL_VERSION only.
READABLE_VERSIONS = (1, 2)
_DATA_PER_RECORD = RECORD_SIZE - TAG_LENGTH - 1


@dataclass(frozen=True)
class SentShare:
    """What the sender keeps: the link to hand out and the token to watch or delete it."""

    link: str = field(repr=False)
    share_id: str
    owner_token: str = field(repr=False)
    expires_at: str


def send(api: ShareApi, source, plaintext_size, metadata, *, password=None, expires_in=None,
         downloads=1, progress=None, limits=None) -> SentShare:
    """Encrypt `plaintext_size` bytes read from `source` and upload them as a new share.

    `progress`, if given, is called with the number of plaintext bytes uploaded so far;
    `limits` is the server's `/api/v1/config` when the caller has read it already.
    """
    upload = start_send(api, plaintext_size, metadata, password=password, expires_in=expires_in,
                        downloads=downloads, progress=progress, limits=limits)
    remaining = plaintext_size
    while remaining:
        data = source.read(min(READ_SIZE, remaining))
        if not data:
            raise ContentChanged(f"the input ended {remaining} bytes early")
        remaining -= len(data)
        upload.write(data)
    return upload.close()


def start_send(api: ShareApi, plaintext_size, metadata, *, password=None, expires_in=None,
               downloads=1, progress=None, limits=None) -> "Upload":
    """Create a share for `plaintext_size` bytes and return the `Upload` that fills it.

    For producers that push their output (a zip writer) rather than offer a `read` method; `send`
    is the same thing for a readable source. The metadata blob must fit the server's
    `max_metadata_chars` (from `limits`, the server's `/api/v1/config`, read here when not
    given): a blob too long for it raises ValueError before anything is sent.
    """
    if limits is None:
        limits = api.config()
    secret = new_secret()
    params = new_password_params() if password is not None else None
    keys = derive_keys(secret, password, params)
    size = padded_size(plaintext_size)
    metadata = complete_metadata(metadata, plaintext_size)
    fields = {
        "version": PROTOCOL_VERSION, "size": size, "downloads": downloads,
        "verifier": b64u_encode(keys.access_verifier),
        "metadata": encrypt_metadata(metadata, keys.metadata_key,
                                     max_chars=metadata_limit(limits)),
        "password": None if params is None else {
            "salt": b64u_encode(params.salt), "iterations": params.iterations,
            "verifier": b64u_encode(keys.password_verifier)},
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
        self._encryptor = Encryptor(content_ikm, pad_to=padded_length(plaintext_size))
        self._uploader = _ChunkUploader(api, self.share_id, self.owner_token,
                                        created["chunk_size"], plaintext_size, progress)
        self._remaining = plaintext_size

    def write(self, data) -> int:
        """Encrypt and upload `data` (whole chunks as soon as they fill); return its length."""
        if len(data) > self._remaining:
            raise ContentChanged("the input is longer than the size declared for the share")
        self._remaining -= len(data)
        self._uploader.feed_pieces(self._encryptor.update_pieces(data))
        return len(data)

    def close(self) -> SentShare:
        """Upload the last records and finalize the share; return the link and owner token."""
        if self._remaining:
            raise ContentChanged(f"the input ended {self._remaining} bytes early")
        self._uploader.feed_pieces(self._encryptor.finalize_pieces())
        self._uploader.flush()
        if self._uploader.sent != self.size:  # only if padded_size and Encryptor disagree
            raise ProtocolError(f"encrypted {self._uploader.sent} bytes, declared {self.size}")
        _with_retries(lambda: self.api.finalize(self.share_id, self.owner_token))
        return SentShare(build_link(self.api.base_url, self.share_id, self._secret),
                         self.share_id, self.owner_token, self.expires_at)

    def abort(self):
        """Delete the unfinished share, best effort: the server drops it after a while anyway."""
        self._uploader.close()
        try:
            self.api.delete(self.share_id, self.owner_token)
        except ApiError:
            pass


class _ChunkUploader:
    """Cut the ciphertext stream into the server's chunks and upload them, a few at a time.

    Up to UPLOADS_IN_FLIGHT chunks are sent at once on their own connections while the caller
    reads and encrypts the next one, so reading, encryption and transfer overlap; a chunk is
    only counted as sent, and reported, once it and every chunk before it are stored. Memory
    stays bounded: the chunks in flight plus the one being filled.

    The pieces of the chunk being filled are kept as they came (views, no copy) and joined once
    it is full: that join is the only copy between the encryptor's records and the socket. A
    growing buffer sliced into chunks copied each byte three times more: `send` of 256 MiB cost
    2.81-2.97 ms of client CPU per MiB (start-up included) against 2.58-2.77 now
    (docs/performance.md).
    """

    def __init__(self, api, share_id, owner_token, chunk_size, plaintext_size, progress):
        self.api, self.share_id, self.owner_token = api, share_id, owner_token
        self.chunk_size = chunk_size
        self.plaintext_size = plaintext_size
        self.progress = progress
        self._pieces = []  # views of the ciphertext not yet in a chunk, oldest first
        self._held = 0  # their total length, always below chunk_size
        self.index = 0
        self.sent = 0
        self._pool = None
        self._pending = deque()  # (future, length), oldest first

    def feed(self, data):
        """Take the next piece of ciphertext; upload each chunk it completes."""
        if not isinstance(data, bytes):
            data = bytes(data)  # a view of a buffer the caller may change must not be held
        view = memoryview(data)
        while len(view) >= self.chunk_size - self._held:
            take = self.chunk_size - self._held
            self._pieces.append(view[:take])
            self._send_held()
            view = view[take:]
        if view:
            self._pieces.append(view)
            self._held += len(view)

    def feed_pieces(self, pieces):
        for piece in pieces:
            self.feed(piece)

    def flush(self):
        if self._held:
            self._send_held()
        try:
            while self._pending:
                self._settle_oldest()
        finally:
            self.close()

    def close(self):
        """Stop the uploads still queued (after a failure); the ones running finish."""
        for future, _ in self._pending:
            future.cancel()
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _send_held(self):
        chunk = b"".join(self._pieces)
        self._pieces.clear()
        self._held = 0
        self._upload(chunk)

    def _upload(self, chunk):
        if self._pool is None:
            self._pool = ThreadPoolExecutor(UPLOADS_IN_FLIGHT, thread_name_prefix="ots-upload")
        while len(self._pending) >= UPLOADS_IN_FLIGHT:
            self._settle_oldest()
        index = self.index
        future = self._pool.submit(
            _with_retries,
            lambda: self.api.put_chunk(self.share_id, self.owner_token, index, chunk))
        self._pending.append((future, len(chunk)))
        self.index += 1

    def _settle_oldest(self):
        future, length = self._pending[0]
        try:
            future.result()  # the chunk's own error, after its retries
        except BaseException:
            self.close()
            raise
        self._pending.popleft()
        self.sent += length
        if self.progress:
            self.progress(self.plaintext_sent())

    def plaintext_sent(self) -> int:
        """Return how much plaintext the ciphertext uploaded so far carries (padding excluded)."""
        records, rest = divmod(max(0, self.sent - HEADER_LENGTH), RECORD_SIZE)
        carried = records * _DATA_PER_RECORD + max(0, rest - TAG_LENGTH - 1)
        return min(self.plaintext_size, carried)


@dataclass(frozen=True)
class ShareInfo:
    """What a recipient learns before claiming: decrypted metadata and public status."""

    share_id: str
    metadata: dict
    status: dict
    keys: ShareKeys = field(repr=False)

    @property
    def version(self) -> int:
        return self.keys.version


def metadata_limit(limits) -> int:
    """Return the longest metadata blob the server stores (its `max_metadata_chars`)."""
    return limits.get("max_metadata_chars", MAX_METADATA_CHARS)


def open_share(api: ShareApi, link, password=None, *, status=None, limits=None) -> ShareInfo:
    """Read a share's status and decrypt its metadata; consumes nothing.

    `link` is a link or a parsed `Link`; `status`, when the caller already read it, saves a
    request. For a v2 password share the metadata comes from the unlock step, which the server
    answers only for the right password: PasswordRequired without one (raised here, nothing is
    sent), WrongPassword (counted by the server, with `attempts_left`) for a wrong one, Locked
    after too many. A v1 share is opened as before v2: its metadata comes with the status and a
    wrong password fails here, as DecryptionError.

    A blob is read up to the server's `max_metadata_chars` (`limits`, its `/api/v1/config`).
    The server never hands out more than it stored, so its config is asked for only when a blob
    is longer than the protocol's default: the common open stays two requests at most.
    """
    parsed = link if isinstance(link, Link) else parse_link(link)
    if status is None:
        status = api.status(parsed.share_id)
    version = status.get("version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise UnsupportedVersion(f"this client opens protocol versions 1 and 2; the share uses "
                                 f"{version!r}: update the client")
    params = password_params(status)
    if params is None:
        password = None  # the sender set none; the link alone is the key
    elif password is None:
        raise PasswordRequired(None, "password_required", "this share is protected by a "
                                                          "password")
    keys = derive_keys(parsed.secret, password, params, version=version)
    if version == 1 or params is None:
        blob = status.get("metadata")
    else:
        blob = api.unlock(parsed.share_id, keys.access_token, keys.password_token).get("metadata")
    if limits is None and isinstance(blob, str) and len(blob) > MAX_METADATA_CHARS:
        limits = api.config()
    metadata = decrypt_metadata(blob, keys.metadata_key, max_chars=metadata_limit(limits or {}))
    if version >= 2:
        check_metadata(metadata)
    return ShareInfo(parsed.share_id, metadata, status, keys)


def password_params(status) -> PasswordParams | None:
    """Return the share's password parameters from its status, None without a password."""
    password = status.get("password")
    if not password:
        return None
    if not isinstance(password, dict) or not isinstance(password.get("salt"), str):
        raise ProtocolError("the status names password parameters the protocol does not allow")
    return PasswordParams(b64u_decode(password["salt"]), password.get("iterations"))


def receive(api: ShareApi, info: ShareInfo, sink, progress=None) -> int:
    """Claim the share and write its decrypted content to `sink`; return plaintext bytes.

    Only authenticated records reach `sink`; a damaged or truncated body raises DecryptionError
    after the last good record, so callers write to a temporary file and keep it only on success.
    A dropped connection or a 503 is retried from the last byte received (`Range`), up to
    RETRIES times in a row without progress. `progress` gets the plaintext bytes written so far.
    A claim that lapses mid-download raises ProofRejected with code `ticket_invalid`.

    Each piece is decrypted and written as it arrives, in the caller's thread: AES-GCM costs
    0.14 ms per MiB and a write to the page cache about as much, so a second thread gained
    nothing on two cores and its hand-overs cost a quarter more CPU (docs/performance.md).
    """
    claim = api.claim(info.share_id, info.keys.access_token, info.keys.password_token)
    decryptor = Decryptor(info.keys.content_ikm)
    written = 0

    def write(data):
        nonlocal written
        plaintext = decryptor.update(data)
        if plaintext:
            sink.write(plaintext)
            written += len(plaintext)
            if progress:
                progress(written)

    _fetch(api, info, claim, write)
    tail = decryptor.finalize()
    sink.write(tail)
    written += len(tail)
    if progress:
        progress(written)
    return written


def _fetch(api, info, claim, write):
    """Stream the ciphertext into `write`, resuming with Range after a retryable failure."""
    received = failures = 0
    while received < claim["size"]:
        start = received
        try:
            with api.content(info.share_id, claim["ticket"], start=start) as (response, pieces):
                if start and response.status_code != 206:
                    # A server that ignored Range would replay the body from its first byte.
                    raise ProtocolError(f"asked to resume at byte {start}, the server answered "
                                        f"{response.status_code} instead of 206")
                # As the bytes arrive: data buffered towards a larger piece would be lost
                # with the connection, and the resume would start further back.
                for data in pieces:
                    received += len(data)
                    write(data)
        except ServerUnavailable as error:
            if not retryable(error):
                raise
            if received > start:
                failures = 0  # this attempt made progress: count only failures in a row
            failures += 1
            if failures > RETRIES:
                raise
            time.sleep(RETRY_PAUSE_SECONDS * failures)
            continue
        if received == start:  # an answer that ends cleanly without a byte would loop forever
            raise ProtocolError(f"the server stopped sending at byte {received} of "
                                f"{claim['size']}")


def retryable(error: ServerUnavailable) -> bool:
    """Tell whether waiting may help: no connection, or a 502/503/504 (not a 500 bug)."""
    return error.code in (NETWORK_CODE, "unavailable") or error.status in (502, 503, 504)


def _with_retries(call):
    """Run `call`, retrying network failures and 503s (every call it wraps is idempotent)."""
    for attempt in range(RETRIES + 1):
        try:
            return call()
        except ServerUnavailable as error:
            if attempt == RETRIES or not retryable(error):
                raise
            time.sleep(RETRY_PAUSE_SECONDS * (attempt + 1))
