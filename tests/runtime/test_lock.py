"""One run per workdir: a second run is refused naming the first; the lock goes with its process."""

import os
import signal
import subprocess
import sys

import pytest

from tfface.errors import ConfigError
from tfface.runtime.lock import WorkdirLock

HOLD = ("import sys, time; from tfface.runtime.lock import WorkdirLock; lock = WorkdirLock(sys.argv[1]).acquire(); "
        "print('held', flush=True); time.sleep(120)")


@pytest.fixture
def held(tmp_path):
    """A workdir whose lock another process holds."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    yield tmp_path, holder
    holder.kill()
    holder.wait()


def test_a_second_run_is_refused_naming_the_first(held):
    workdir, holder = held
    with pytest.raises(ConfigError, match=rf"is in use by another run \(pid {holder.pid} on .*\); wait for it"):
        WorkdirLock(str(workdir)).acquire()


def test_the_lock_goes_with_its_process_even_after_kill_9(held):
    workdir, holder = held
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with WorkdirLock(str(workdir)):  # no stale lock left behind
        pass
    with WorkdirLock(str(workdir)):  # and released again on leaving
        pass


def test_train_refuses_a_workdir_in_use_before_writing_anything(held):
    from tfface.config import RunConfig
    from tfface.programs.training import train

    workdir, holder = held
    with pytest.raises(ConfigError, match=f"pid {holder.pid}"):
        train(RunConfig.of(workdir=str(workdir), steps=1, synth_identities=20, synth_heldout=5), lambda s: None)
    assert sorted(os.listdir(workdir)) == [".tfface.lock"]  # no config.json, no checkpoints
