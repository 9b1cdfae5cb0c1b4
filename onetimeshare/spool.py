"""Read local inputs for sending: pipes of unknown length, and files of a known one.

A share declares its size before the upload starts, so input from a pipe (stdin, a FIFO) is read
to its end first. It waits in an anonymous temporary file, encrypted under a throwaway key that
lives only in this process's memory, so a secret piped into `onetimeshare send -` never lies on
disk in the clear, not even in freed blocks. Memory stays at about one record either way.
"""

import io
import os
import tempfile

from .ece import Decryptor, Encryptor
from .errors import ContentChanged

READ_SIZE = 1 << 20
_THROWAWAY_KEY_LENGTH = 16


class EncryptedSpool:
    """A write-once, read-once temporary file whose content is encrypted at rest.

    `write` everything, then `rewind`, then `read` it back; `size` is the plaintext length.
    """

    def __init__(self):
        self._file = tempfile.TemporaryFile()
        key = os.urandom(_THROWAWAY_KEY_LENGTH)
        self._encryptor = Encryptor(key)
        self._decryptor = Decryptor(key)
        self._pending = bytearray()
        self._ended = False
        self.size = 0

    @classmethod
    def of(cls, stream, check=None):
        """Spool all of the binary `stream`, calling `check(data)` on each piece; return it."""
        spool = cls()
        # A buffered read comes back short only at the end of the input. Stop there rather
        # than read again: on a terminal each read waits for its own Ctrl-D, so a second one
        # would look like a hang to whoever just pressed Ctrl-D.
        short_means_end = isinstance(stream, io.BufferedReader)
        try:
            while data := stream.read(READ_SIZE):
                if check:
                    check(data)
                spool.write(data)
                if short_means_end and len(data) < READ_SIZE:
                    break
            spool.rewind()
        except BaseException:
            spool.close()
            raise
        return spool

    def write(self, data) -> int:
        self._file.write(self._encryptor.update(data))
        self.size += len(data)
        return len(data)

    def rewind(self):
        """Finish writing and go back to the start for reading."""
        self._file.write(self._encryptor.finalize())
        self._file.seek(0)

    def read(self, size=-1) -> bytes:
        """Return up to `size` bytes (all that is left for a negative size)."""
        while not self._ended and (size < 0 or len(self._pending) < size):
            data = self._file.read(READ_SIZE)
            if data:
                self._pending += self._decryptor.update(data)
            else:
                self._pending += self._decryptor.finalize()
                self._ended = True
        size = len(self._pending) if size < 0 else size
        with memoryview(self._pending) as view:  # one copy out, not two
            piece = bytes(view[:size])
        del self._pending[:size]
        return piece

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def copy_exactly(source, write, size, label):
    """Copy exactly `size` bytes from `source` to `write`; ContentChanged if it has more or less.

    A file that grows or shrinks while it is read would otherwise be sent cut or padded.
    """
    remaining = size
    while remaining:
        data = source.read(min(READ_SIZE, remaining))
        if not data:
            raise ContentChanged(f"{label} shrank while it was being sent "
                               f"({size - remaining} of {size} bytes)")
        remaining -= len(data)
        write(data)
    if source.read(1):
        raise ContentChanged(f"{label} grew while it was being sent (expected {size} bytes)")
