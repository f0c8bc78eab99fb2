"""Loss flags: the margin head's cross-entropy, metric losses, auxiliary terms."""

from absl import flags

from tfface.config import RunConfig

_D = RunConfig()  # every default lives in tfface.config


flags.DEFINE_string("loss", _D.setting("loss"), "Main loss: softmax (the --head margin head), a metric loss "
                    "(contrastive | triplet | npair | ms | rll | histogram) over the global batch, or "
                    "'<metric>+head' for both. Metric losses want --sampler=pk.")
flags.DEFINE_string("aux_loss", _D.setting("aux_loss"), "Extra weighted terms, e.g. 'center:0.003' or "
                    "'triplet:0.5,center:0.001'.")
flags.DEFINE_float("contrastive_margin", _D.setting("contrastive_margin"), "Contrastive: negative margin (Euclidean).")
flags.DEFINE_float("triplet_margin", _D.setting("triplet_margin"), "Triplet: margin m.")
flags.DEFINE_enum("triplet_mining", _D.setting("triplet_mining"), ["batch_all", "batch_hard", "semi_hard"], "Triplet "
                  "mining.")
flags.DEFINE_float("npair_l2", _D.setting("npair_l2"), "N-pair: L2 penalty λ on the embeddings.")
flags.DEFINE_float("ms_alpha", _D.setting("ms_alpha"), "Multi-similarity α (positive scale).")
flags.DEFINE_float("ms_beta", _D.setting("ms_beta"), "Multi-similarity β (negative scale).")
flags.DEFINE_float("ms_lambda", _D.setting("ms_lambda"), "Multi-similarity λ (similarity threshold).")
flags.DEFINE_float("ms_eps", _D.setting("ms_eps"), "Multi-similarity ε (mining margin).")
flags.DEFINE_float("rll_alpha", _D.setting("rll_alpha"), "Ranked list: negative boundary α.")
flags.DEFINE_float("rll_margin", _D.setting("rll_margin"), "Ranked list: margin m (positives pulled within α − m).")
flags.DEFINE_float("rll_tn", _D.setting("rll_tn"), "Ranked list: negative weighting temperature T_n.")
flags.DEFINE_float("rll_tp", _D.setting("rll_tp"), "Ranked list: positive weighting temperature T_p (0 = plain mean).")
flags.DEFINE_integer("hist_bins", _D.setting("hist_bins"), "Histogram loss: number of bins R.")
flags.DEFINE_float("center_alpha", _D.setting("center_alpha"), "Centre loss: centre update rate α.")
