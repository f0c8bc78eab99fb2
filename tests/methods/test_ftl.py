"""FTL (Yin et al. 2019) as a training program: the phase schedule, which weights each stage moves, Eq. 1,
Algorithm 1's order, resume, export, and the flags it refuses."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfface.config import RunConfig
from tfface.data import pipeline
from tfface.methods.ftl import FTLTask, TransferTask, build_modules, phases, regular_classes, stage1_dataset
from tfface.training.trainer import Trainer, TrainerConfig
from tfface.transforms.ftl import (
    encode_all,
    transfer,
    update_stats,
)


def test_phase_schedule():
    kinds = [(p.kind, p.start, p.end) for p in phases(11, 3, 3)]
    assert kinds == [("pretrain", 0, 3), ("stage1", 3, 6), ("stage2", 6, 9), ("stage1", 9, 11)]
    assert [p.kind for p in phases(4, 0, 2)] == ["stage1", "stage2"]


@pytest.fixture(scope="module")
def ftl_setup(tiny_source):
    cfg = RunConfig.of(image_size=32, batch_size=16, ftl_rich_dim=16, head="softmax", ftl_ur_max_images=8,
                    eval_batch=64)
    keras.utils.set_random_seed(1)
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        modules = build_modules(cfg, tiny_source.num_classes)
    return cfg, strategy, modules


def _weights(module):
    return [w.numpy().copy() for w in module.weights]


def _moved(before, module):
    return max(float(np.abs(a - b).max()) for a, b in zip(before, _weights(module)))


def test_stage1_moves_only_r_and_fc_and_stage2_never_fc(ftl_setup, tiny_source, tmp_path):
    cfg, strategy, modules = ftl_setup
    regular = regular_classes(tiny_source.class_counts, cfg.ftl.ur_max_images)
    g, gf = encode_all(strategy, modules["encoder"], tiny_source.paths, cfg.data.image_size, 64)
    stats = update_stats(g, gf, tiny_source.labels, tiny_source.num_classes, regular)
    with strategy.scope():
        s1 = TransferTask(modules, cfg.loop.batch_size, tiny_source.num_classes, cfg.ftl.rich_dim)
        s2 = FTLTask(modules, cfg.loop.batch_size, train_head=False)
        opt1, opt2 = keras.optimizers.Adam(1e-2), keras.optimizers.Adam(1e-2)
    s1.set_stats(stats)
    before = {k: _weights(m) for k, m in modules.items()}  # weights include BN moving statistics
    batch = cfg.loop.batch_size
    t1 = Trainer(strategy, s1, opt1, TrainerConfig(3, batch, str(tmp_path / "s1")), printer=lambda s: None)
    t1.fit(stage1_dataset(tiny_source, stats, regular, cfg))
    assert _moved(before["encoder"], modules["encoder"]) == 0.0
    assert _moved(before["decoder"], modules["decoder"]) == 0.0
    assert _moved(before["filter"], modules["filter"]) > 1e-4 and _moved(before["head"], modules["head"]) > 1e-4
    before = {k: _weights(m) for k, m in modules.items()}
    t2 = Trainer(strategy, s2, opt2, TrainerConfig(3, batch, str(tmp_path / "s2")), printer=lambda s: None)
    data = pipeline.TrainInput(cfg.loop.batch_size, cfg.data.image_size)
    t2.fit(lambda start, ctx: pipeline.train_dataset(tiny_source, data, start, ctx))
    assert _moved(before["head"], modules["head"]) == 0.0
    for name in ("encoder", "decoder", "filter"):
        assert _moved(before[name], modules[name]) > 1e-4


def _checkpoint_values(workdir):
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(workdir / "checkpoints")))
    names = [n for n in reader.get_variable_to_shape_map() if "/.ATTRIBUTES/VARIABLE_VALUE" in n
             and n.split("/")[0] in ("encoder", "decoder", "filter", "head", "step")]
    return {n: reader.get_tensor(n) for n in names}


def test_program_resumes_mid_alternation_like_an_uninterrupted_run(tiny_synth, tmp_path):
    from tfface.programs.training import train

    cfg = RunConfig.of(method="ftl", data="list", list_file=str(tiny_synth / "meta.csv"), image_size=32,
                    batch_size=16, ftl_rich_dim=16, ftl_ur_max_images=8, ftl_pretrain_steps=2,
                    ftl_alternate_steps=2, ftl_lr_pretrain=1e-3, ftl_lr_alternate=1e-3, steps=7, log_every=100,
                    checkpoint_every=100, eval_batch=64)
    quiet = lambda s: None  # noqa: E731
    train(cfg.replace(workdir=str(tmp_path / "straight")), quiet)
    train(cfg.replace(workdir=str(tmp_path / "resumed"), steps=5), quiet)  # stops inside stage 2
    train(cfg.replace(workdir=str(tmp_path / "resumed")), quiet)  # stage 2 to 6, then stage 1 with new stats
    a, b = _checkpoint_values(tmp_path / "straight"), _checkpoint_values(tmp_path / "resumed")
    assert a.keys() == b.keys() and int(a["step/.ATTRIBUTES/VARIABLE_VALUE"]) == 7
    for name in a:
        np.testing.assert_allclose(a[name], b[name], atol=1e-5, err_msg=name)
    assert (tmp_path / "straight" / "export" / "saved_model.pb").exists()


def test_a_checkpoint_exports_the_same_embedder_as_training(tiny_synth, tmp_path):
    """evaluate.py --checkpoint on an FTL workdir exports f = R(Enc(x)), as training did (it used to rebuild a
    standard backbone whose weights the FTL checkpoint does not hold)."""
    from tfface.data.sources import from_list_file
    from tfface.export.saved_model import load_embedder
    from tfface.models.embed import embed_paths
    from tfface.programs.training import checkpoint_to_saved_model, train

    work = tmp_path / "ftl"
    train(RunConfig.of(method="ftl", data="list", list_file=str(tiny_synth / "meta.csv"), image_size=32, batch_size=16,
                    ftl_rich_dim=16, ftl_ur_max_images=8, ftl_pretrain_steps=2, ftl_alternate_steps=1, steps=4,
                    log_every=100, eval_batch=64, workdir=str(work)), lambda s: None)
    paths = from_list_file(tiny_synth / "meta.csv").paths[:8]
    trained = embed_paths(*load_embedder(str(work / "export"))[:1], paths, 32, flip=False)
    restored = embed_paths(*load_embedder(checkpoint_to_saved_model(str(work)))[:1], paths, 32, flip=False)
    np.testing.assert_allclose(restored, trained, atol=1e-5)
    # the FTL export (f = R(Enc(x))) also runs in the TF1 session loader (saved_model_cli, TF Serving)
    from session_loader import session_outputs

    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3)).astype(np.uint8)
    served = session_outputs(str(work / "export"), "serving_default", {"images": images})["embeddings"]
    from tfface.models.embed import embed_images

    one_view = load_embedder(str(work / "export"))[0]
    np.testing.assert_allclose(served, embed_images(one_view, images, flip=True), atol=1e-5)  # evaluate.py's
    # the standard program's restore refuses it instead of restoring nothing
    from tfface.errors import ConfigError
    from tfface.methods.standard import restore_workdir

    with pytest.raises(ConfigError, match="holds no backbone"):
        restore_workdir(str(work))


def test_ftl_classifier_is_softmax_by_default_and_m_l2_is_refused_on_a_normalised_head():
    from tfface.errors import ConfigError
    from tfface.runtime.model import build_model

    cfg = RunConfig.of(image_size=32, ftl_rich_dim=8)
    assert build_modules(cfg, 5)["head"].margin_name == "softmax"  # Eq. 2: a linear softmax classifier
    with pytest.raises(ConfigError, match="`ftl_alpha_reg=0.25` with `ftl_head=arcface`"):
        build_modules(cfg.replace(ftl_head="arcface"), 5)  # m-L2 cannot change a cosine logit
    build_modules(cfg.replace(ftl_head="arcface", ftl_alpha_reg=0.0), 5)
    with pytest.raises(ConfigError, match="`mlreg_weight=0.1`"):
        build_model(RunConfig.of(image_size=32, embedding_size=8, head="cosface", mlreg_weight=0.1), 5)
    build_model(RunConfig.of(image_size=32, embedding_size=8, head="softmax", mlreg_weight=0.1), 5)


def test_reconstruction_loss_is_eq1_sum_of_squared_pixel_errors(ftl_setup, tiny_source):
    cfg, strategy, modules = ftl_setup
    images = np.stack([np.full((32, 32, 3), v, np.uint8) for v in (0, 128, 255, 64)])
    labels = np.array([0, 1, 2, 3])
    task = FTLTask(modules, 4, alpha_softmax=0.0, alpha_recon=1.0)
    loss, metrics = task.loss((tf.constant(images), tf.constant(labels)), 0)
    recon = modules["decoder"](modules["encoder"](images, training=True), training=True).numpy()
    want = np.sum((recon - images / 255.0) ** 2, axis=(1, 2, 3)).mean()  # ‖x′ − x‖² per image, pixels in [0, 1]
    assert float(metrics["recon"]) == pytest.approx(want, rel=1e-4)
    assert want > 100  # a sum over 32·32·3 values, not their mean


def test_stage1_in_the_papers_order_is_three_successive_updates(ftl_setup, tiny_source):
    # Algorithm 1, stage 1: train the regular batch, then the UR batch, then the transferred batch — three
    # updates of R and FC per iteration; "joint" sums the three losses into one update.
    cfg, strategy, modules = ftl_setup
    rng = np.random.default_rng(5)
    x_reg, x_ur = (rng.integers(0, 256, (4, 32, 32, 3)).astype(np.uint8) for _ in range(2))
    y_reg, y_ur = np.array([0, 1, 2, 3]), np.array([4, 5, 6, 7])
    batch = ((tf.constant(x_reg), tf.constant(y_reg)), (tf.constant(x_ur), tf.constant(y_ur)))
    d, c = cfg.ftl.rich_dim, tiny_source.num_classes
    stats_c = rng.normal(size=(c, d)).astype(np.float32)
    proj = np.eye(d, dtype=np.float32) * 0.5
    start = [v.numpy().copy() for v in modules["filter"].weights + modules["head"].weights]

    def reset():
        for v, s in zip(modules["filter"].weights + modules["head"].weights, start):
            v.assign(s)

    def make(sequential):
        task = TransferTask(modules, 4, c, d, sequential=sequential)
        task.centres.assign(stats_c)
        task.projection.assign(proj)
        return task

    task = make(True)
    opt = keras.optimizers.SGD(0.1)
    opt.build(task.trainable_variables)
    task.train_step(batch, tf.constant(0), opt)
    got = [v.numpy().copy() for v in task.trainable_variables]
    assert int(opt.iterations.numpy()) == 3
    reset()  # by hand: the three batches, one SGD update each, in the paper's order
    ref = make(False)
    g_reg = modules["encoder"](x_reg, training=False)
    g_ur = modules["encoder"](x_ur, training=False)
    g_new = transfer(g_reg, tf.gather(stats_c, y_reg), tf.gather(stats_c, y_ur), proj)
    for g, y in ((g_reg, y_reg), (g_ur, y_ur), (g_new, y_ur)):
        with tf.GradientTape() as tape:
            f = modules["filter"](g, training=True)
            logits = modules["head"](f, tf.constant(y))
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.constant(y), logits=logits)
            loss = tf.reduce_sum(ce + modules["head"].regularization(f)) / 4.0
        grads = tape.gradient(loss, ref.trainable_variables)
        for v, gr in zip(ref.trainable_variables, grads):
            v.assign_sub(0.1 * gr)
    for a, b in zip(got, ref.trainable_variables):
        np.testing.assert_allclose(a, b.numpy(), atol=1e-5)
    reset()


@pytest.mark.parametrize("change,said", [({"loss": "ms"}, "`loss=ms` is not read by `method=ftl`"),
                                         ({"aux_loss": "center:0.1"}, "`aux_loss=center:0.1` is not read"),
                                         ({"discface_lambda": 0.2}, "`discface_lambda=0.2` is not read"),
                                         ({"feature_transform": "sft"}, "`feature_transform=sft` is not read"),
                                         ({"mlreg_weight": 0.1}, "FTL weights m-L2 by `ftl_alpha_reg`"),
                                         ({"head": "cosface"}, "FTL's classifier is `ftl_head`"),
                                         ({"lr": 0.5}, "Adam at `ftl_lr_pretrain` / `ftl_lr_alternate`")])
def test_ftl_refuses_the_flags_it_ignores(tiny_synth, tmp_path, change, said):
    from tfface.errors import ConfigError
    from tfface.programs.training import train

    cfg = RunConfig.of(method="ftl", data="list", list_file=str(tiny_synth / "meta.csv"), image_size=32,
                       batch_size=16, ftl_rich_dim=16, workdir=str(tmp_path / "w"), **change)
    with pytest.raises(ConfigError) as err:
        train(cfg, lambda s: None)
    assert said in str(err.value) and not (tmp_path / "w").exists()


def test_ftl_warns_when_the_steps_never_reach_stage2():
    from tfface.methods.ftl import check_ftl_config

    said = []
    check_ftl_config(RunConfig.of(method="ftl"), said.append)  # defaults: 1500 steps, 1000 pre-training, N_iter 5000
    assert said and "never reaches stage 2" in said[0] and "`ftl_alternate_steps=5000`" in said[0]
    said.clear()
    check_ftl_config(RunConfig.of(method="ftl", steps=1600, ftl_pretrain_steps=1000, ftl_alternate_steps=200),
                     said.append)
    assert not said


def test_encode_all_on_two_replicas_equals_one_device(ftl_setup, tiny_source):
    cfg, strategy, modules = ftl_setup
    one = encode_all(strategy, modules["encoder"], tiny_source.paths[:37], cfg.data.image_size, 16)
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"],
                                              cross_device_ops=tf.distribute.ReductionToOneDevice())
    two = encode_all(mirrored, modules["encoder"], tiny_source.paths[:37], cfg.data.image_size, 16)
    for a, b in zip(one, two):
        assert a.shape == (37, cfg.ftl.rich_dim)
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert np.abs(one[0] - one[1]).max() > 1e-4  # the mirror image gives another feature


def test_filter_network_is_the_papers_shape_or_one_linear_layer():
    cfg = RunConfig.of(image_size=32, ftl_rich_dim=8)
    paper = build_modules(cfg, 5)["filter"]
    kinds = [type(layer).__name__ for layer in paper.layers]
    assert kinds.count("Conv2DTranspose") == 2 and kinds.count("Conv2D") == 2 and kinds.count("Dense") == 2
    linear = build_modules(cfg.replace(ftl_filter="linear"), 5)["filter"]
    assert [type(layer).__name__ for layer in linear.layers] == ["InputLayer", "Dense"]
    g = np.ones((3, 8), np.float32)
    np.testing.assert_allclose(linear(g).numpy(), g @ linear.layers[1].kernel.numpy() + linear.layers[1].bias.numpy(),
                               rtol=1e-6)
