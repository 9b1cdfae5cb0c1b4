"""Write several files as one ZIP stream (stored, not compressed), knowing its length first.

A share declares its size before the upload starts, and a zip written to a pipe cannot be
measured without writing it. `zip_size` computes the exact length the standard library's zipfile
writes to an unseekable stream: per member a local header, the data and a data descriptor; then
the central directory and the end record, with ZIP64 fields exactly where zipfile adds them.
`Upload.close` refuses a length that differs from the declared one, and the tests compare the two.
Stored, because what people send (PDFs, images, archives) is mostly compressed already.
"""

import stat
import time
import zipfile
from dataclasses import dataclass
from typing import Any

from .spool import copy_exactly

LOCAL_HEADER = 30
ZIP64_LOCAL_EXTRA = 20  # tag, length, file size, compressed size
DATA_DESCRIPTOR = 16  # signature, CRC-32, 32-bit sizes
ZIP64_DATA_DESCRIPTOR = 24  # signature, CRC-32, 64-bit sizes
CENTRAL_HEADER = 46
ZIP64_EXTRA_HEADER = 4  # tag and length, then 8 bytes per 64-bit field
END_RECORD = 22
ZIP64_END_RECORDS = 56 + 20  # ZIP64 end record and its locator
_FIRST_DOS_DATE = (1980, 1, 1, 0, 0, 0)
_LAST_DOS_DATE = (2107, 12, 31, 23, 59, 58)


@dataclass(frozen=True)
class Member:
    """One file of the zip: its entry, and how to open its content (a binary file object)."""

    info: zipfile.ZipInfo
    open: Any
    label: str


def member_info(name, size, mtime=None, mode=0o644) -> zipfile.ZipInfo:
    """Return the zip entry for a regular file `name` of `size` bytes."""
    date_time = time.localtime(time.time() if mtime is None else mtime)[:6]
    date_time = min(max(date_time, _FIRST_DOS_DATE), _LAST_DOS_DATE)  # what DOS dates can hold
    info = zipfile.ZipInfo(name, date_time)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = (stat.S_IFREG | (mode & 0o777)) << 16
    info.file_size = size
    return info


def encoded_name(info) -> bytes:
    """Return the name as zipfile writes it: ASCII when it can, else UTF-8 (with a flag)."""
    try:
        return info.filename.encode("ascii")
    except UnicodeEncodeError:
        return info.filename.encode("utf-8")


def _local_zip64(info) -> bool:
    # zipfile's own rule (ZipFile._open_to_write): room for compression overhead.
    return info.file_size * 1.05 > zipfile.ZIP64_LIMIT


def zip_size(infos) -> int:
    """Return the exact length of the zip `write_zip` produces for these entries."""
    offset = central = 0
    for info in infos:
        name = len(encoded_name(info)) + len(info.extra)
        header_offset = offset
        zip64 = _local_zip64(info)
        offset += LOCAL_HEADER + name + info.file_size
        offset += ZIP64_LOCAL_EXTRA + ZIP64_DATA_DESCRIPTOR if zip64 else DATA_DESCRIPTOR
        wide = 2 * (info.file_size > zipfile.ZIP64_LIMIT) + (header_offset > zipfile.ZIP64_LIMIT)
        central += CENTRAL_HEADER + name + len(info.comment)
        central += ZIP64_EXTRA_HEADER + 8 * wide if wide else 0
    end = END_RECORD
    if (len(infos) > zipfile.ZIP_FILECOUNT_LIMIT or offset > zipfile.ZIP64_LIMIT
            or central > zipfile.ZIP64_LIMIT):
        end += ZIP64_END_RECORDS
    return offset + central + end


class _PushSink:
    """The write end zipfile sees: unseekable (no `tell`), so it writes data descriptors.

    After a failure it swallows what zipfile still writes while closing (a data descriptor, the
    central directory), so nothing more reaches the upload and the first error is the one raised.
    """

    def __init__(self, write):
        self._write = write
        self.failed = False

    def write(self, data):
        if not self.failed:
            self._write(data)
        return len(data)

    def flush(self):
        pass


def write_zip(members, write):
    """Write the zip of `members` through `write(data)`, reading each member once."""
    sink = _PushSink(write)
    try:
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
            for member in members:
                zip64 = _local_zip64(member.info)
                with member.open() as source, archive.open(member.info, "w",
                                                           force_zip64=zip64) as entry:
                    copy_exactly(source, entry.write, member.info.file_size, member.label)
    except BaseException:
        sink.failed = True
        raise
