"""train.py on 2 logical CPU replicas end to end, then evaluate.py from the SavedModel and the checkpoint."""

import json
import pathlib
import subprocess
import sys

from conftest import REPO


def _run(args, cwd, timeout=300):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_train_then_evaluate(tiny_synth, tmp_path):
    work = tmp_path / "run"
    out = _run([str(REPO / "train.py"), "--data=list", f"--list_file={tiny_synth / 'meta.csv'}",
                f"--eval_pairs={tiny_synth / 'pairs.csv'}", "--image_size=32", "--embedding_size=16",
                "--batch_size=16", "--steps=4", "--log_every=2", "--warmup_steps=1", "--cpu_replicas=2",
                "--sampler=pk", "--pk_k=4", "--eval_every=2", f"--workdir={work}"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "2 replica(s)" in out.stdout and "img/s" in out.stdout and "ETA" in out.stdout
    assert "step 2: verification accuracy" in out.stdout  # the in-training evaluation hook
    report = json.loads((work / "eval.json").read_text())
    for key in ("accuracy", "accuracy_std", "tar_at_far", "auc"):
        assert key in report
    assert (work / "eval_roc.png").stat().st_size > 1000
    assert (work / "export" / "saved_model.pb").exists() and list((work / "logs").iterdir())

    ev = _run([str(REPO / "evaluate.py"), f"--model={work / 'export'}", f"--eval_pairs={tiny_synth / 'pairs.csv'}",
               f"--out={tmp_path / 'ev1'}"], tmp_path)
    assert ev.returncode == 0, ev.stderr[-3000:]
    again = json.loads((tmp_path / "ev1" / "eval.json").read_text())
    assert abs(again["accuracy"] - report["accuracy"]) < 1e-9

    for protocol in ("retrieval", "identification", "distribution", "sft"):
        ev = _run([str(REPO / "evaluate.py"), f"--model={work / 'export'}", f"--protocol={protocol}",
                   f"--eval_list={tiny_synth / 'meta.csv'}", f"--out={tmp_path / 'ev_list'}"], tmp_path)
        assert ev.returncode == 0, ev.stderr[-3000:]
        rep = json.loads((tmp_path / "ev_list" / f"{protocol}.json").read_text())
        assert rep["protocol"] == protocol
    assert (tmp_path / "ev_list" / "identification_cmc.png").exists()
    assert (tmp_path / "ev_list" / "distribution.png").exists()
    sft = json.loads((tmp_path / "ev_list" / "sft.json").read_text())
    assert 0 <= sft["orthogonality"][-1]["r_w"] <= 1 and sft["divergence"]["std"] >= 0
    assert (tmp_path / "ev_list" / "sft.png").stat().st_size > 1000
    ev = _run([str(REPO / "evaluate.py"), f"--model={work / 'export'}", "--protocol=all_pairs", "--bootstrap=20",
               f"--eval_list={tiny_synth / 'meta.csv'}", f"--out={tmp_path / 'ev_list'}"], tmp_path)
    assert ev.returncode == 0, ev.stderr[-3000:]
    every = json.loads((tmp_path / "ev_list" / "all_pairs.json").read_text())
    n = every["images"]
    assert every["genuine_pairs"] + every["impostor_pairs"] == n * (n - 1) // 2 and "0.0001" in every["tar_at_far"]
    assert "ci95" in every["tar_at_far"]["0.01"] and f"all pairs: {n}/{n} rows scored" in ev.stdout
    assert (tmp_path / "ev_list" / "all_pairs.png").stat().st_size > 10_000
    ijb = tmp_path / "ijb"
    made = _run(["-m", "tfface.programs.make_templates", f"--list_file={tiny_synth / 'meta.csv'}", f"--out={ijb}",
                 "--images_per_template=4"], tmp_path)
    assert made.returncode == 0 and "templates" in made.stdout, made.stderr[-2000:]
    for protocol, args in (("ijb_1to1", [f"--templates={ijb / 'templates.csv'}",
                                         f"--template_pairs={ijb / 'matches.csv'}"]),
                           ("ijb_1toN", [f"--gallery_templates={ijb / 'gallery.csv'}",
                                         f"--probe_templates={ijb / 'probes.csv'}"])):
        ev = _run([str(REPO / "evaluate.py"), f"--model={work / 'export'}", f"--protocol={protocol}", *args,
                   f"--out={tmp_path / 'ev_ijb'}"], tmp_path)
        assert ev.returncode == 0, ev.stderr[-3000:]
    one = json.loads((tmp_path / "ev_ijb" / "ijb_1to1.json").read_text())
    many = json.loads((tmp_path / "ev_ijb" / "ijb_1toN.json").read_text())
    assert one["genuine_pairs"] > 0 and one["impostor_pairs"] > one["genuine_pairs"] and 0.5 < one["auc"] <= 1
    assert "ci95" in one["tar_at_far"]["0.1"] or "ci95" in one["tar_at_far"].get("0.01", {})
    assert (tmp_path / "ev_ijb" / "ijb_1to1.png").stat().st_size > 10_000
    assert many["non_mated_probes"] > 0 and 0 <= many["rank1"] <= 1 and "0.1" in many["tpir_at_fpir"]
    rows = (tiny_synth / "meta.csv").read_text().splitlines()
    for name, keep in (("seen.csv", lambda r: r.split(",")[2] == "train"),
                       ("others.csv", lambda r: r.split(",")[2] != "train")):
        (tmp_path / name).write_text("\n".join([rows[0], *(r for r in rows[1:] if keep(r))]) + "\n")
    ev = _run([str(REPO / "evaluate.py"), f"--model={work / 'export'}", "--protocol=distractors",
               f"--eval_list={tmp_path / 'seen.csv'}", f"--distractors={tmp_path / 'others.csv'}",
               f"--eval_root={tiny_synth}", f"--out={tmp_path / 'ev_dis'}"], tmp_path)
    assert ev.returncode == 0, ev.stderr[-3000:]
    dis = json.loads((tmp_path / "ev_dis" / "distractors.json").read_text())
    rank1 = [dis["rank1"][k] for k in sorted(dis["rank1"], key=int)]
    assert rank1[0] >= rank1[-1] and dis["rank1"][str(dis["distractors"])] == rank1[-1] and dis["gallery"] == 40
    # IDA-R at template level (norm-weighted pooling) and with distractors, anchors from the other identities
    ida = [f"--model={work / 'export'}", "--score=ida_r", f"--ida_anchors={tmp_path / 'others.csv'}",
           f"--eval_root={tiny_synth}"]
    ev = _run([str(REPO / "evaluate.py"), *ida, "--protocol=ijb_1to1", "--template_weights=norm",
               f"--templates={ijb / 'templates.csv'}", f"--template_pairs={ijb / 'matches.csv'}",
               f"--out={tmp_path / 'ev_ijb_ida'}"], tmp_path)
    assert ev.returncode == 0, ev.stderr[-3000:]
    one_ida = json.loads((tmp_path / "ev_ijb_ida" / "ijb_1to1.json").read_text())
    assert one_ida["score"] == "ida_r" and one_ida["template_weights"] == "norm"
    assert one_ida["genuine_pairs"] == one["genuine_pairs"] and one_ida["auc"] != one["auc"]
    ev = _run([str(REPO / "evaluate.py"), *ida, "--protocol=distractors", f"--eval_list={tmp_path / 'seen.csv'}",
               f"--distractors={tmp_path / 'others.csv'}", f"--out={tmp_path / 'ev_dis_ida'}"], tmp_path)
    assert ev.returncode == 0, ev.stderr[-3000:]
    dis_ida = json.loads((tmp_path / "ev_dis_ida" / "distractors.json").read_text())
    assert dis_ida["score"] == "ida_r" and set(dis_ida["rank1"]) == set(dis["rank1"])
    ev = _run([str(REPO / "evaluate.py"), f"--model={work / 'export'}", "--protocol=retrieval", "--score=ida_r",
               f"--eval_list={tiny_synth / 'meta.csv'}", f"--out={tmp_path / 'ev_list'}"], tmp_path)
    assert ev.returncode == 1 and "error: --score=ida_r does not apply to --protocol=retrieval" in ev.stderr

    ev2 = _run([str(REPO / "evaluate.py"), f"--checkpoint={work}", f"--eval_pairs={tiny_synth / 'pairs.csv'}",
                f"--out={tmp_path / 'ev2'}"], tmp_path)
    assert ev2.returncode == 0, ev2.stderr[-3000:]
    from_ckpt = json.loads((tmp_path / "ev2" / "eval.json").read_text())
    assert abs(from_ckpt["auc"] - report["auc"]) < 1e-3


def test_bad_flags_get_clear_errors(tiny_synth, tmp_path):
    out = _run([str(REPO / "train.py"), "--data=list", f"--list_file={tiny_synth / 'meta.csv'}",
                "--batch_size=15", "--cpu_replicas=2", "--image_size=32", f"--workdir={tmp_path / 'w'}"], tmp_path)
    assert out.returncode != 0 and "--batch_size=15 does not split over 2 replicas" in out.stderr
    out = _run([str(REPO / "train.py"), "--data=list", f"--list_file={tmp_path / 'nope.csv'}",
                f"--workdir={tmp_path / 'w2'}"], tmp_path)
    assert out.returncode != 0 and "nope.csv: file not found" in out.stderr


def test_metric_loss_run_and_bad_loss_spec(tiny_synth, tmp_path):
    work = tmp_path / "metric"
    out = _run([str(REPO / "train.py"), "--data=list", f"--list_file={tiny_synth / 'meta.csv'}",
                f"--eval_pairs={tiny_synth / 'pairs.csv'}", "--image_size=32", "--embedding_size=16",
                "--batch_size=16", "--steps=3", "--log_every=1", "--warmup_steps=1", "--cpu_replicas=2",
                "--sampler=pk", "--pk_k=4", "--loss=ms+head", "--aux_loss=triplet:0.5,center:0.01",
                "--discface_lambda=0.2",
                f"--workdir={work}"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    for name in ("ce ", "ms ", "triplet ", "center ", "discrepancy ", "xi_norm ", "directional ", "radial "):
        assert name in out.stdout
    assert (work / "eval.json").exists()
    diag = _run([str(REPO / "evaluate.py"), f"--checkpoint={work}", "--protocol=discface"], tmp_path)
    assert diag.returncode == 0, diag.stderr[-3000:]
    folder = next(work.glob("eval-discface-*"))  # its own folder beside the run's files
    report = json.loads((folder / "discface.json").read_text())
    assert -1 <= report["directional_cosine"] <= 1 and report["radial"] >= 0 and report["xi_eff_norm"][0] <= 0.05
    bad = _run([str(REPO / "train.py"), "--loss=tripplet", f"--workdir={tmp_path / 'bad'}"], tmp_path)
    assert bad.returncode != 0 and "'tripplet' is unknown" in bad.stderr
    bad = _run([str(REPO / "train.py"), "--loss=triplet", "--discface_lambda=0.2",
                f"--workdir={tmp_path / 'bad2'}"], tmp_path)
    assert bad.returncode != 0 and "--discface_lambda needs the margin head" in bad.stderr


def test_sft_run_and_bad_scheme(tiny_synth, tmp_path):
    common = ["--data=list", f"--list_file={tiny_synth / 'meta.csv'}", "--image_size=32", "--embedding_size=16",
              "--batch_size=16", "--log_every=1", "--warmup_steps=1", "--sampler=pk", "--pk_k=4"]
    out = _run([str(REPO / "train.py"), *common, "--steps=3", "--cpu_replicas=2", "--feature_transform=sft",
                "--sft_scheme=unbalanced", "--sft_tail_threshold=10", "--sft_warmup_steps=1",
                f"--workdir={tmp_path / 'sft'}"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "generated_loss " in out.stdout and "generated " in out.stdout
    bad = _run([str(REPO / "train.py"), *common, "--steps=1", "--feature_transform=sft", "--sft_scheme=unbalanced",
                "--sft_tail_threshold=1000", f"--workdir={tmp_path / 'bad'}"], tmp_path)
    assert bad.returncode != 0 and "--sft_tail_threshold=1000" in bad.stderr


def test_ftl_program_on_two_replicas_and_bad_split(tiny_synth, tmp_path):
    common = ["--method=ftl", "--data=list", f"--list_file={tiny_synth / 'meta.csv'}", "--image_size=32",
              "--batch_size=16", "--ftl_rich_dim=16", "--log_every=1"]
    out = _run([str(REPO / "train.py"), *common, "--steps=6", "--cpu_replicas=2", "--ftl_ur_max_images=8",
                "--ftl_pretrain_steps=2", "--ftl_alternate_steps=2", f"--eval_pairs={tiny_synth / 'pairs.csv'}",
                f"--workdir={tmp_path / 'ftl'}"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    for text in ("2 replica(s)", "FTL pretrain", "FTL UpdateStats", "ce_transfer", "FTL stage2", "recon "):
        assert text in out.stdout
    assert json.loads((tmp_path / "ftl" / "eval.json").read_text())["auc"] > 0
    vis = _run([str(REPO / "evaluate.py"), f"--checkpoint={tmp_path / 'ftl'}", "--protocol=ftl_visualize",
                f"--out={tmp_path / 'vis'}"], tmp_path)
    assert vis.returncode == 0, vis.stderr[-3000:]
    for name in ("ftl_centres.png", "ftl_transfer.png", "ftl_interpolation.png"):
        assert (tmp_path / "vis" / name).stat().st_size > 2000
    nn = _run([str(REPO / "evaluate.py"), f"--checkpoint={tmp_path / 'ftl'}", "--protocol=ftl_nn",
               f"--eval_list={tiny_synth / 'meta.csv'}", f"--out={tmp_path / 'nn'}"], tmp_path)
    assert nn.returncode == 0, nn.stderr[-3000:]
    rep = json.loads((tmp_path / "nn" / "ftl_nn.json").read_text())
    assert 0 <= rep["rank1_f"]["ur"] <= 1 and 0 <= rep["rank1_g"]["regular"] <= 1
    assert 0 <= rep["classifier"]["coverage_at_p99"] <= 1
    bad = _run([str(REPO / "train.py"), *common, "--steps=1", "--ftl_ur_max_images=1000",
                f"--workdir={tmp_path / 'bad'}"], tmp_path)
    assert bad.returncode != 0 and "--ftl_ur_max_images=1000 leaves no regular class" in bad.stderr


def test_ddl_fine_tunes_an_arcface_run_on_two_replicas(tiny_synth, tmp_path):
    common = ["--data=list", f"--list_file={tiny_synth / 'meta.csv'}", "--image_size=32", "--embedding_size=16",
              "--batch_size=16", "--log_every=1", "--warmup_steps=0"]
    base = _run([str(REPO / "train.py"), *common, "--steps=2", f"--workdir={tmp_path / 'arc'}"], tmp_path)
    assert base.returncode == 0, base.stderr[-3000:]
    ddl = ["--method=ddl", "--ddl_attribute=yaw", "--ddl_ranges=0:15,15:90", "--ddl_pairs_per_replica=4",
           "--lr=0.001", f"--init_checkpoint={tmp_path / 'arc'}"]
    out = _run([str(REPO / "train.py"), *common, *ddl, "--steps=3", "--cpu_replicas=2",
                f"--workdir={tmp_path / 'ddl'}"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    for text in ("initialised backbone and head", "DDL teacher", "DDL student1", "ddl_order ", "2 replica(s)"):
        assert text in out.stdout
    assert (tmp_path / "ddl" / "ddl_pairs_teacher.csv").exists()
    ev = _run([str(REPO / "evaluate.py"), f"--model={tmp_path / 'ddl' / 'export'}", "--protocol=easy_hard",
               f"--eval_list={tiny_synth / 'meta.csv'}", "--easy_hard_attribute=yaw",
               "--easy_hard_ranges=0:15,15:25,25:90", f"--out={tmp_path / 'eh'}"], tmp_path)
    assert ev.returncode == 0, ev.stderr[-3000:]
    rep = json.loads((tmp_path / "eh" / "easy_hard.json").read_text())
    assert len(rep["students"]) == 2 and 0 <= rep["students"][0]["rank1"] <= 1
    assert (tmp_path / "eh" / "easy_hard.png").stat().st_size > 2000
    bad = _run([str(REPO / "train.py"), *common, "--method=ddl", "--ddl_attribute=yaw", "--ddl_ranges=0:1,15:90",
                "--ddl_pairs_per_replica=64", "--steps=1", f"--workdir={tmp_path / 'bad'}"], tmp_path)
    assert bad.returncode != 0 and "DDL partition teacher" in bad.stderr


def test_ida_scores_ssr_sweep_and_export(tiny_synth, tmp_path):
    from tfface.export.saved_model import export_saved_model
    from tfface.models.backbones import build_backbone

    model = export_saved_model(build_backbone("small_cnn", 32, 16), tmp_path / "model", 32)
    meta, pairs = str(tiny_synth / "meta.csv"), str(tiny_synth / "pairs.csv")
    ev = [str(REPO / "evaluate.py"), f"--model={model}", f"--ida_anchors={meta}", "--ida_k=5",
          f"--out={tmp_path / 'ida'}"]
    on_pairs = [*ev, f"--eval_pairs={pairs}"]
    out = _run([*on_pairs, "--score=ida_r"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    out = _run([*on_pairs, "--score=cosine"], tmp_path)  # the --ida_* settings would be ignored: refused
    assert out.returncode == 1 and "error: --ida_anchors=" in out.stderr and "would ignore it" in out.stderr
    assert json.loads((tmp_path / "ida" / "eval_ida_r.json").read_text())["score"] == "ida_r"
    out = _run([*ev, "--protocol=ida_ssr", f"--eval_list={meta}", "--ida_ssr_steps=200", "--ida_ssr_lr=0.01"],
               tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    ssr = json.loads((tmp_path / "ida" / "ida_ssr.json").read_text())
    assert ssr["held_out_mse_after"] < ssr["held_out_mse_before"]
    out = _run([*on_pairs, "--score=ida_l", f"--ida_ssr={tmp_path / 'ida' / 'ssr.keras'}"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    out = _run([*on_pairs, "--protocol=ida_sweep"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    sweep = json.loads((tmp_path / "ida" / "ida_sweep.json").read_text())
    assert len(sweep["over_tau"]) == 8 and (tmp_path / "ida" / "ida_sweep.png").exists()
    out = _run([*ev, "--protocol=ida_export", f"--ida_ssr={tmp_path / 'ida' / 'ssr.keras'}"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    meta_out = json.loads((tmp_path / "ida" / "export_ida" / "tfface.json").read_text())
    assert meta_out["ida"]["learned_density"] and meta_out["ida"]["k"] == 5
    bad = _run([*on_pairs[:2], on_pairs[-1], "--score=ida_r"], tmp_path)
    assert bad.returncode != 0 and "--ida_anchors" in bad.stderr


def test_installed_programs_list_their_own_flags_on_help_and_exit_0(tmp_path):
    import shutil

    def installed(script):
        return shutil.which(script) or str(pathlib.Path(sys.executable).parent / script)

    for script, flag in (("tfface-train", "--ddl_gamma"), ("tfface-evaluate", "--protocol"),
                         ("tfface-make-tfrecords", "--shards"), ("tfface-check-data", "--list_file"),
                         ("tfface-make-templates", "--images_per_template"), ("tfface-augment-preview", "--out"),
                         ("tfface-align", "--layout"), ("tfface-split", "--pairs")):
        out = subprocess.run([installed(script), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and flag in out.stdout, (script, out.stderr[-1000:])
        assert "--helpfull" in out.stdout and "--log_dir" not in out.stdout  # its own flags, not absl's
        assert "oneDNN custom operations" not in out.stderr and "InitializeLog" not in out.stderr, script
    out = subprocess.run([installed("tfface-train"), "--helpfull"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "--log_dir" in out.stdout and "--ddl_gamma" in out.stdout
