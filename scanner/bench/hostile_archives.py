#!/usr/bin/env python3
"""Hostile archives against the scanner's archive reader (the one the server's rescans use:
`scanner::source::tarball`, with its default `ArchiveLimits`): each is built here, scanned
by `unthread-scan` as a `.tar.gz`, and reported with its outcome, peak resident memory and
time. Every one must end with a clear refusal (or a bounded scan), in bounded memory.

usage: python3 scanner/bench/hostile_archives.py [path/to/unthread-scan]
"""

import gzip
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCAN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/unthread-scan")
MiB = 1024 * 1024


def header(name, size, kind=b"0"):
    """A ustar header block (512 bytes) for a member of `size` bytes."""
    block = bytearray(512)
    block[0:len(name)] = name
    block[100:108] = b"0000644\0"
    block[108:116] = b"0000000\0"
    block[116:124] = b"0000000\0"
    block[124:136] = b"%011o\0" % size
    block[136:148] = b"%011o\0" % 0
    block[156:157] = kind
    block[257:263] = b"ustar\0"
    block[263:265] = b"00"
    block[148:156] = b"        "
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def member(out, name, data_size, kind=b"0", byte=b"a"):
    out.write(header(name, data_size, kind))
    chunk = byte * MiB
    left = data_size
    while left:
        n = min(left, MiB)
        out.write(chunk[:n])
        left -= n
    out.write(b"\0" * (-data_size % 512))


def end(out):
    out.write(b"\0" * 1024)


def build(path, write):
    with gzip.open(path, "wb", compresslevel=9) as out:
        write(out)


def gzip_bomb(out):
    for i in range(100):
        member(out, b"top/pkg/m%d.py" % i, 5 * MiB, byte=b"#")
    end(out)


def long_name(out):
    member(out, b"././@LongLink", 96 * MiB, kind=b"L")
    member(out, b"top/x.py", 6)
    end(out)


def pax_global(out):
    member(out, b"pax_global_header", 256 * MiB, kind=b"g", byte=b"1")
    end(out)


def cut_at_boundary(out):
    member(out, b"top/pkg/a.py", 6)
    member(out, b"top/pkg/b.py", 6)
    # no end-of-archive blocks


def one_long_line(out):
    text = ("import threading; " + "; ".join(f"lock_{i:05} = threading.Lock()" for i in range(3000)) + "\n").encode()
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("top/pkg/generated.py")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text))
    out.write(data.getvalue())


CASES = [
    ("gzip bomb: 100 members of 5 MiB", gzip_bomb),
    ("GNU long name of 96 MiB", long_name),
    ("pax global header of 256 MiB", pax_global),
    ("cut at a member boundary", cut_at_boundary),
    ("3,000 findings on one 60 KB line", one_long_line),
]

with tempfile.TemporaryDirectory() as work:
    print(f"{'case':36} {'gz KiB':>7} {'exit':>4} {'peak MiB':>8} {'seconds':>7}  outcome")
    for name, write in CASES:
        path = os.path.join(work, "case.tar.gz")
        build(path, write)
        started = time.monotonic()
        run = subprocess.run(
            ["/usr/bin/time", "-f", "%M", SCAN, path, "--format", "summary", "--exit-zero"],
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - started
        lines = run.stderr.strip().splitlines()
        peak = int(lines[-1]) // 1024 if lines and lines[-1].isdigit() else -1
        said = next((l for l in lines if "archive" in l or "error" in l.lower()), "")
        total = next((l for l in run.stdout.splitlines() if l.startswith("total")), "").split()
        outcome = said[:90] if run.returncode else f"scanned: {total[-1] if total else '?'} findings"
        print(f"{name:36} {os.path.getsize(path) // 1024:>7} {run.returncode:>4} {peak:>8} {seconds:>7.2f}  {outcome}")
