"""Writing a file so that a power cut never leaves half of it (the config from set_config, the status file)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: str | os.PathLike, text: str, mode: int | None = None,
                     owner: tuple[int, int] | None = None) -> None:
    """Replace a file so that a power cut leaves either the old or the new content, never half of each.

    `mode` and `owner` are set on the new file before it takes the old one's place, so no reader ever sees it with
    the temp file's 0600; without them the new file is 0600, owned by us."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        if owner is not None and owner != (os.geteuid(), os.getegid()):
            try:
                os.fchown(fd, *owner)
            except PermissionError:   # not root: the file can only be ours, as any file we write
                pass
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
        dfd = os.open(p.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
