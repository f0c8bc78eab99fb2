"""One run per workdir: an exclusive lock the operating system holds for the running process.

The lock is ``fcntl.flock`` on ``<workdir>/.tfface.lock``; the kernel drops it when the process ends, however it
ends (``kill -9`` included), so a lock is never left behind on this host. The file records who holds it (pid,
host, start time) for the message a second run gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time

from tfface.errors import ConfigError

LOCK_FILE = ".tfface.lock"


class WorkdirLock:
    """Held from :meth:`acquire` until :meth:`release` (or the process's end)."""

    def __init__(self, workdir: str):
        self.path = os.path.join(workdir, LOCK_FILE)
        self._fh = None

    def acquire(self) -> WorkdirLock:
        """Take the lock, or refuse naming the run that holds it."""
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = _holder(fh.read())
            fh.close()
            raise ConfigError(f"`workdir={os.path.dirname(self.path)}` is in use by another run ({holder}); wait for "
                              "it to finish, or give this run another `workdir`.") from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                             "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> WorkdirLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _holder(text: str) -> str:
    try:
        who = json.loads(text)
        return f"pid {who['pid']} on {who['host']}, started {who['started']}"
    except (ValueError, KeyError, TypeError):
        return "a run that has not yet written its name"
