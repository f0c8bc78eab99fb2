"""tfface.training.loopback: one cluster on 127.0.0.1, one TF_CONFIG per worker."""

import json
import socket

from tfface.training.loopback import loopback_tf_configs


def test_each_worker_gets_the_same_cluster_of_distinct_free_ports_and_its_own_index():
    configs = [json.loads(c) for c in loopback_tf_configs(3)]
    workers = configs[0]["cluster"]["worker"]
    assert all(c["cluster"] == {"worker": workers} for c in configs)
    assert [c["task"] for c in configs] == [{"type": "worker", "index": i} for i in range(3)]
    ports = [int(w.split(":")[1]) for w in workers]
    assert all(w.startswith("127.0.0.1:") for w in workers) and len(set(ports)) == 3
    for port in ports:  # released: a worker can bind it
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))
