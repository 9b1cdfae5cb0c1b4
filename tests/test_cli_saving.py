"""How `onetimeshare get` saves a file: reserved before the claim, handed to writeback as it
arrives, trimmed to what arrived, renamed into place only by commit.

These drive `AtomicFile` directly, on the test's own temporary directory (a real file system);
the command's round trips (tests/test_cli.py) check the bytes end to end.
"""

import errno
import os

import pytest

from onetimeshare.cli_common import CliError, Exit
from onetimeshare.cli_get import AtomicFile

MIB = 1024 * 1024


def leftovers(directory):
    return [name for name in os.listdir(directory) if name.endswith(".part")]


def test_the_space_is_reserved_up_front_and_the_file_trimmed_to_what_arrived(tmp_path):
    target = tmp_path / "saved"
    file = AtomicFile(target, force=False, reserve=10 * MIB)
    assert file.reserved, "this file system supports posix_fallocate: the reservation must hold"
    allocated = os.stat(file.temporary).st_blocks * 512
    assert allocated >= 10 * MIB, f"only {allocated} bytes allocated before any write"
    data = os.urandom(3 * MIB + 5)
    file.write(data)
    assert file.commit() == {"path": str(target)}
    assert target.read_bytes() == data, "the reservation's tail must not stay in the file"
    assert leftovers(tmp_path) == []


def test_written_data_is_handed_to_writeback_as_it_goes(tmp_path, monkeypatch):
    handed = []
    real = os.posix_fadvise

    def record(fd, offset, length, advice):
        handed.append((offset, length, written[0]))
        return real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", record)
    written = [0]
    file = AtomicFile(tmp_path / "saved", force=True, reserve=64 * MIB)
    pieces = [os.urandom(MIB) for _ in range(64)]
    for piece in pieces:
        file.write(piece)
        written[0] += len(piece)
    file.commit()
    assert handed, "nothing was handed to writeback during a 64 MiB download"
    position = 0
    for offset, length, before in handed:
        assert offset == position, "ranges follow each other from the start of the file"
        # Only what lies WRITEBACK_LAG behind the bytes written so far (the call comes
        # just after a write, so `before` does not count that write yet).
        assert offset + length <= before + MIB - AtomicFile.WRITEBACK_LAG
        position = offset + length
    assert position >= 64 * MIB - 2 * AtomicFile.WRITEBACK_LAG
    assert (tmp_path / "saved").read_bytes() == b"".join(pieces)


def test_a_disk_without_room_for_the_reservation_fails_and_leaves_nothing(tmp_path,
                                                                         monkeypatch):
    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(CliError) as refused:
        AtomicFile(tmp_path / "saved", force=False, reserve=MIB)
    assert refused.value.code == Exit.LOCAL_IO and "not enough space" in str(refused.value)
    assert leftovers(tmp_path) == [] and not (tmp_path / "saved").exists()


@pytest.mark.parametrize("refusal", [errno.EOPNOTSUPP, errno.EINVAL])
def test_a_file_system_without_reservations_still_saves(tmp_path, monkeypatch, refusal):
    def unsupported(fd, offset, length):
        raise OSError(refusal, os.strerror(refusal))

    monkeypatch.setattr(os, "posix_fallocate", unsupported)
    file = AtomicFile(tmp_path / "saved", force=False, reserve=MIB)
    assert not file.reserved
    file.write(b"abc")
    file.commit()
    assert (tmp_path / "saved").read_bytes() == b"abc"


def test_a_discarded_download_leaves_neither_the_reservation_nor_the_target(tmp_path):
    file = AtomicFile(tmp_path / "saved", force=False, reserve=4 * MIB)
    file.write(os.urandom(MIB))
    file.discard()
    assert leftovers(tmp_path) == [] and not (tmp_path / "saved").exists()
