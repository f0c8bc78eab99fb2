"""Loss flags: the margin head's cross-entropy, metric losses, auxiliary terms."""

from absl import flags

flags.DEFINE_string("loss", "softmax", "Main loss: softmax (the --head margin head), a metric loss "
                    "(contrastive | triplet | npair | ms | rll | histogram) over the global batch, or "
                    "'<metric>+head' for both. Metric losses want --sampler=pk.")
flags.DEFINE_string("aux_loss", "", "Extra weighted terms, e.g. 'center:0.003' or 'triplet:0.5,center:0.001'.")
flags.DEFINE_float("contrastive_margin", 1.0, "Contrastive: negative margin on the Euclidean distance.")
flags.DEFINE_float("triplet_margin", 0.2, "Triplet: margin m.")
flags.DEFINE_enum("triplet_mining", "batch_hard", ["batch_all", "batch_hard", "semi_hard"], "Triplet mining.")
flags.DEFINE_float("npair_l2", 0.002, "N-pair: L2 penalty λ on the embeddings.")
flags.DEFINE_float("ms_alpha", 2.0, "Multi-similarity α (positive scale).")
flags.DEFINE_float("ms_beta", 50.0, "Multi-similarity β (negative scale).")
flags.DEFINE_float("ms_lambda", 0.5, "Multi-similarity λ (similarity threshold).")
flags.DEFINE_float("ms_eps", 0.1, "Multi-similarity ε (mining margin).")
flags.DEFINE_float("rll_alpha", 1.2, "Ranked list: negative boundary α.")
flags.DEFINE_float("rll_margin", 0.4, "Ranked list: margin m (positives pulled within α − m).")
flags.DEFINE_float("rll_tn", 10.0, "Ranked list: negative weighting temperature T_n.")
flags.DEFINE_float("rll_tp", 0.0, "Ranked list: positive weighting temperature T_p (0 = plain mean).")
flags.DEFINE_integer("hist_bins", 101, "Histogram loss: number of bins R.")
flags.DEFINE_float("center_alpha", 0.5, "Centre loss: centre update rate α.")
