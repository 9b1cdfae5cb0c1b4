"""Write and hash large random files, a mebibyte at a time (never the whole file in memory)."""

import hashlib
import os

MIB = 1024 * 1024


def write_random_file(path, size_mib):
    """Write `size_mib` MiB of random bytes to `path`; return the path and their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        for _ in range(size_mib):
            block = os.urandom(MIB)
            digest.update(block)
            out.write(block)
    return path, digest.hexdigest()


def sha256_of(path):
    """Return the SHA-256 of the file at `path`, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(MIB):
            digest.update(block)
    return digest.hexdigest()
