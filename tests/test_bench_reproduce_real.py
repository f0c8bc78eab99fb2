"""bench/reproduce_real.py: a real-face bench's seed counts as done only when its call finished."""

import pytest
from conftest import REPO


def test_a_real_bench_that_fails_after_writing_leaves_no_result_for_its_seed(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import reproduce_real

    bench = tmp_path / "half_bench.py"  # saves its first arm, then dies, as a killed bench would
    bench.write_text("import sys, pathlib\nout = [a.split('=', 1)[1] for a in sys.argv if a.startswith('--out=')][0]\n"
                     "pathlib.Path(out).write_text('{\"runs\": []}')\nsys.exit(int('--fail' in sys.argv))\n")
    setting = reproduce_real.RealSetting("x", str(bench), (), ("a", "b"), (), "a test bench")
    out = tmp_path / "x_seed-0.json"
    with pytest.raises(SystemExit, match="exited with 1"):
        reproduce_real.run_bench(setting, ["--fail"], out, quick=False)
    assert not out.exists()  # the seed is not taken as done
    assert reproduce_real.run_bench(setting, [], out, quick=False) >= 0 and out.read_text() == '{"runs": []}'
