"""A multi-worker cluster on 127.0.0.1: the TF_CONFIG of each worker process, for running multi-host code
(MultiWorkerMirroredStrategy) as local processes in tests and benches."""

from __future__ import annotations

import json
import socket


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free on 127.0.0.1 now (bound together, then released)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def loopback_tf_configs(workers: int) -> list[str]:
    """TF_CONFIG (JSON) of each of ``workers`` workers of one cluster on free loopback ports, by task index."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(workers)]}
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(workers)]
