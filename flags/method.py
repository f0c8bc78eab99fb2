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

flags.DEFINE_enum("method", "standard", ["standard", "ftl"], "Training program: standard (backbone + head + "
                  "losses above) or ftl (Yin et al. 2019: Enc/Dec/R/FC, pre-training then two-stage alternation "
                  "with feature transfer to under-represented classes; the --ftl_* flags).")
flags.DEFINE_integer("ftl_rich_dim", 320, "FTL: size of the rich feature g (Enc output) and of the identity "
                     "feature f (R output).")
flags.DEFINE_integer("ftl_ur_max_images", 20, "FTL: classes with at most this many images are "
                     "under-represented (UR).")
flags.DEFINE_integer("ftl_pretrain_steps", 1000, "FTL: steps of pre-training all modules with Eq. 4.")
flags.DEFINE_integer("ftl_alternate_steps", 5000, "FTL: N_iter, steps per stage in the alternation (paper 5k).")
flags.DEFINE_float("ftl_lr_pretrain", 2e-4, "FTL: Adam learning rate of pre-training.")
flags.DEFINE_float("ftl_lr_alternate", 1e-5, "FTL: Adam learning rate of stages 1 and 2.")
flags.DEFINE_float("ftl_alpha_softmax", 1.0, "FTL Eq. 4: weight of the softmax loss.")
flags.DEFINE_float("ftl_alpha_recon", 1.0, "FTL Eq. 4: weight of the reconstruction loss (mean squared pixel "
                   "error, images in [0, 1]).")
flags.DEFINE_float("ftl_alpha_reg", 0.25, "FTL Eq. 4: weight of the m-L2 regulariser ‖Wᵀf‖².")
flags.DEFINE_float("ftl_pca_energy", 0.95, "FTL: share of the regular-class covariance the PCA basis Q keeps.")
flags.DEFINE_integer("ftl_pca_components", 0, "FTL: keep exactly this many PCA components instead (paper: 150).")
flags.DEFINE_string("ftl_pose_attribute", "", "FTL Eq. 5: per-image attribute column (e.g. yaw) bounding "
                    "which images make a class centre; empty = all images.")
flags.DEFINE_float("ftl_pose_threshold", 0.0, "FTL Eq. 5: τ, keep images with |p| + |p̄| ≤ τ.")
