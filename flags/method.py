"""Flags of the paper methods that plug into the trainer."""

from absl import flags

flags.DEFINE_float("discface_lambda", 0.0, "DiscFace (Kim et al. 2020): weight λ of the discrepancy loss on the "
                   "margin head (Eq. 4; the paper uses 0.2). 0 = off.")
flags.DEFINE_float("discface_basis_max_norm", 0.05, "DiscFace: clip ξ_max of the displacement basis norm.")
flags.DEFINE_integer("discface_num_bases", 1, "DiscFace: number of displacement bases (each sample uses the "
                     "nearest; the paper's Fig. 4(d) shows 2).")

flags.DEFINE_enum("feature_transform", "none", ["none", "sft", "sft_d", "translation"],
                  "SFT (Zhu et al. 2020) feature augmentation on any loss: sft = spherical rotation between class "
                  "centres (Eq. 3), sft_d = translation before normalisation then re-projection (Sec. 3.4), "
                  "translation = Eq. 2 on normalised features.")
flags.DEFINE_float("sft_lambda", 0.2, "SFT: weight λ of the loss on the generated batch (Eq. 10).")
flags.DEFINE_enum("sft_scheme", "balanced", ["balanced", "unbalanced"], "SFT training scheme (Sec. 3.5): every "
                  "feature to a random other class, or only head-class features to tail classes.")
flags.DEFINE_integer("sft_tail_threshold", 15, "SFT unbalanced scheme: classes with fewer training images are "
                     "tail classes.")
flags.DEFINE_integer("sft_warmup_steps", 100, "SFT: steps of centre tracking before features are generated.")
