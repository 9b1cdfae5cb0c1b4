"""Send and receive whole shares: encrypt while uploading, decrypt while downloading.

Both directions stream in bounded memory: at most one upload chunk (plus one read) is held on
the way up, and one RFC 8188 record on the way down. A dropped connection is retried: an upload
chunk is simply sent again (the server stores chunks idempotently), and a download resumes with
`Range` from the last ciphertext byte received, while the claim is alive.
"""

import time
from dataclasses import dataclass, field

import httpx

from . import PROTOCOL_VERSION
from .api import ShareApi
from .ece import Decryptor, Encryptor, encrypted_size
from .encoding import b64u_decode, b64u_encode
from .errors import OneTimeShareError, ProtocolError, UnsupportedVersion
from .keys import PasswordParams, derive_keys, new_password_params, new_secret
from .links import build_link, parse_link
from .metadata import decrypt_metadata, encrypt_metadata

READ_SIZE = 1 << 20
RETRIES = 5
RETRY_PAUSE_SECONDS = 0.5


class PasswordRequired(OneTimeShareError):
    """The share has a password and none was given."""


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
    share_id, owner_token = created["id"], created["owner_token"]
    uploader = _ChunkUploader(api, share_id, owner_token, created["chunk_size"], progress)
    encryptor = Encryptor(keys.content_ikm)
    remaining = plaintext_size
    while remaining:
        data = source.read(min(READ_SIZE, remaining))
        if not data:
            raise OneTimeShareError(f"the input ended {remaining} bytes early")
        remaining -= len(data)
        uploader.feed(encryptor.update(data))
    uploader.feed(encryptor.finalize())
    uploader.flush()
    if uploader.sent != size:  # cannot happen unless encrypted_size and Encryptor disagree
        raise ProtocolError(f"encrypted {uploader.sent} bytes, declared {size}")
    _with_retries(lambda: api.finalize(share_id, owner_token))
    return SentShare(build_link(api.base_url, share_id, secret), share_id, owner_token,
                     created["expires_at"])


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
    status = api.status(parsed.share_id)
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


def receive(api: ShareApi, info: ShareInfo, sink, progress=None) -> int:
    """Claim the share and write its decrypted content to `sink`; return plaintext bytes.

    Only authenticated records reach `sink`; a damaged or truncated body raises IntegrityError
    after the last good record, so callers write to a temporary file and keep it only on success.
    """
    claim = api.claim(info.share_id, b64u_encode(info.keys.auth_token))
    decryptor = Decryptor(info.keys.content_ikm)
    received = written = 0
    failures = 0
    while received < claim["size"]:
        try:
            with api.content(info.share_id, claim["ticket"], start=received) as response:
                for data in response.iter_raw(READ_SIZE):
                    received += len(data)
                    plaintext = decryptor.update(data)
                    sink.write(plaintext)
                    written += len(plaintext)
                    if progress:
                        progress(received)
        except (httpx.TransportError, httpx.RemoteProtocolError):
            failures += 1
            if failures > RETRIES:
                raise
            time.sleep(RETRY_PAUSE_SECONDS * failures)
    tail = decryptor.finalize()
    sink.write(tail)
    return written + len(tail)


def _with_retries(call):
    """Run `call`, retrying transport failures (safe: every call it wraps is idempotent)."""
    for attempt in range(RETRIES + 1):
        try:
            return call()
        except httpx.TransportError:
            if attempt == RETRIES:
                raise
            time.sleep(RETRY_PAUSE_SECONDS * (attempt + 1))
