"""Measure how the record size affects Python encrypt and decrypt throughput.

Run: ``python bench/bench_record_size.py [--mib 64] [--repeats 3]``. Each record costs a fixed
amount of Python work (nonce, delimiter, one AESGCM call) on top of the cipher itself, so small
records pay overhead per byte and large ones make readers buffer more. The baseline is raw
AESGCM.encrypt on 1 MiB buffers in the same run, so the ratios hold across machines.
"""

import argparse
import os
import platform
import time

import cryptography
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from onetimeshare.ece import Decryptor, Encryptor

MIB = 1024 * 1024
PIECE = MIB  # how much the caller hands over per update(), like a file read
RECORD_SIZES = [4 * 1024, 16 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024]
IKM = bytes(range(16))


def best_time(run, repeats: int) -> float:
    """Return the fastest of several runs: the least disturbed by the rest of the machine."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def raw_aesgcm(total: int, piece: bytes) -> None:
    """Encrypt the stream with bare AESGCM calls on pieces: the ceiling for that piece size."""
    aead = AESGCM(bytes(16))
    for index in range(total // len(piece)):
        aead.encrypt(index.to_bytes(12, "big"), piece, None)


def encrypt(total: int, piece: bytes, rs: int, sink) -> None:
    """Encrypt the stream, handing each output to sink (a no-op when timing)."""
    encryptor = Encryptor(IKM, rs=rs)
    for _ in range(total // len(piece)):
        sink(encryptor.update(piece))
    sink(encryptor.finalize())


def decrypt(body: bytes) -> None:
    decryptor = Decryptor(IKM)
    view = memoryview(body)
    for start in range(0, len(body), PIECE):
        decryptor.update(view[start : start + PIECE])
    decryptor.finalize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="stream size in MiB (default 64)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement, best kept")
    args = parser.parse_args()
    total, piece = args.mib * MIB, os.urandom(PIECE)

    base = args.mib / best_time(lambda: raw_aesgcm(total, piece), args.repeats)
    print(f"Python {platform.python_version()}, cryptography {cryptography.__version__}, "
          f"{platform.machine()}; {args.mib} MiB stream fed in {PIECE // MIB} MiB pieces, "
          f"best of {args.repeats}")
    print(f"Baseline: raw AESGCM.encrypt of 1 MiB buffers: {base:,.0f} MiB/s\n")
    print("| rs | encrypt MiB/s | vs baseline | decrypt MiB/s | vs baseline | bare AESGCM at rs |")
    print("|---:|---:|---:|---:|---:|---:|")
    for rs in RECORD_SIZES:
        parts = []
        encrypt(total, piece, rs, parts.append)
        body = b"".join(parts)
        del parts
        enc = args.mib / best_time(lambda rs=rs: encrypt(total, piece, rs, len), args.repeats)
        dec = args.mib / best_time(lambda body=body: decrypt(body), args.repeats)
        del body
        # Bare AESGCM on record-sized buffers: what any framing with this rs pays at least.
        bare = args.mib / best_time(lambda rs=rs: raw_aesgcm(total, piece[: rs - 17]), args.repeats)
        cells = f"{enc:,.0f} | {enc / base:.2f} | {dec:,.0f} | {dec / base:.2f} | {bare:,.0f}"
        print(f"| {rs // 1024} KiB | {cells} |")


if __name__ == "__main__":
    main()
