"""Choosing a tf.distribute strategy: Mirrored on GPUs, OneDevice, MultiWorker from TF_CONFIG, or
N logical CPU devices (``--cpu_replicas``) for trying distribution without GPUs."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from tfface.errors import ConfigError
from tfface.settings import NON_NEGATIVE, Section, at_least, section, setting


@section("distribute", flat=True)
class DistributeSettings(Section):
    """Devices and numerics of the training step."""

    cpu_replicas: int = setting(0, "Split the CPU into N logical devices and mirror over them (for trying "
                                "distribution without GPUs). 0 = use the GPUs / one device.", limit=NON_NEGATIVE)
    mixed_precision: str = setting("none", "Mixed precision; heads, margins and losses stay float32.",
                                   choices=("none", "bf16", "fp16"), structural=True)
    jit_compile: bool = setting(False, "XLA-compile the training step (slower on CPU here).")
    steps_per_loop: int = setting(1, "Training steps per tf.function call (up to the next log, hook or checkpoint), "
                                  "so a small model on a fast accelerator is not bound by the host; the weights are "
                                  "those of one step per call.", limit=at_least(1))


def split_cpu(replicas: int) -> None:
    """Split the first CPU into ``replicas`` logical devices (must run before TF initialises devices)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current and len(current) == replicas:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    except RuntimeError as err:
        raise ConfigError(f"`cpu_replicas={replicas}`: TensorFlow's devices were already initialised "
                          "with another layout; set it before any TensorFlow op runs.") from err


def _workers_in_tf_config() -> int:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except json.JSONDecodeError as err:
        raise ConfigError(f"TF_CONFIG is not valid JSON: {err}") from err
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def make_strategy(cpu_replicas: int = 0) -> tf.distribute.Strategy:
    """MultiWorkerMirrored when TF_CONFIG names several workers; else Mirrored over
    ``cpu_replicas`` logical CPUs (if > 1) or over all GPUs (if > 1); else OneDevice."""
    if _workers_in_tf_config() > 1:
        if cpu_replicas > 1:
            split_cpu(cpu_replicas)
        comm = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.RING)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=comm)
    if cpu_replicas > 1:
        split_cpu(cpu_replicas)
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(cpu_replicas)],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True on the worker that writes checkpoints, logs and exports."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in ("chief", None) or (
        resolver.task_type == "worker" and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict())


def worker_path(workdir: str, name: str, strategy: tf.distribute.Strategy) -> str:
    """``workdir/name`` on the chief; a scratch ``workdir/.worker-<id>-name`` on the other workers, which must
    write too (saving runs collectives) but whose copy is deleted afterwards."""
    if is_chief(strategy):
        return os.path.join(workdir, name)
    return os.path.join(workdir, f".worker-{strategy.cluster_resolver.task_id}-{name}")
