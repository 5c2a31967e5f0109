"""A supervised child that writes a fixed volume to stdout, then exits.

``writer.py blocks BYTES`` writes 64 KiB blocks; ``writer.py lines BYTES`` writes
100-byte lines, one write() each, as a worker that flushes every log line does.
Run as a plain script so its start costs the same under both daemons.
"""

import os
import sys

BLOCK = b"x" * 65535 + b"\n"
LINE = b"y" * 99 + b"\n"


def main() -> None:
    mode, total = sys.argv[1], int(sys.argv[2])
    chunk = BLOCK if mode == "blocks" else LINE
    written = 0
    while written < total:
        piece = chunk[: total - written]
        view = memoryview(piece)
        while view:
            view = view[os.write(1, view):]
        written += len(piece)


if __name__ == "__main__":
    main()
