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
flags.DEFINE_enum("sft_targets", "auto", ["auto", "sample", "identity"], "SFT: draw target classes per "
                  "feature (sample, the paper's wording) or per identity (all images of an identity move to one "
                  "class, keeping the positive pairs a metric loss needs); auto = identity when --loss or "
                  "--aux_loss has a metric loss, else sample.")

flags.DEFINE_string("method", "standard", "Training program, by registered name: standard (backbone + head + "
                    "losses above); ftl (Yin et al. 2019: Enc/Dec/R/FC, pre-training then two-stage alternation "
                    "with feature transfer to under-represented classes; the --ftl_* flags); ddl (Huang et al. "
                    "2020: head loss + distribution distillation from easy to hard partitions; the --ddl_* flags); "
                    "or one of yours, registered by a module named in --imports.")
flags.DEFINE_list("imports", [], "Python modules (dotted names or .py files) to import first: your own methods "
                  "register themselves there (tfface.registry.register_method) and are picked with --method.")
flags.DEFINE_enum("ftl_head", "softmax", ["softmax", "normface", "cosface", "arcface", "combined"],
                  "FTL: the classifier FC (Eq. 2 is a linear softmax; m-L2, Eq. 3, only acts on softmax). "
                  "--scale/--margin/--m1/--m3 apply to margin heads.")
flags.DEFINE_enum("ftl_stage1", "sequential", ["sequential", "joint"], "FTL stage 1: sequential = Algorithm 1's "
                  "three updates per step (hard regular batch, UR batch, transferred batch, in turn); joint = "
                  "one update on the sum of the three losses.")
flags.DEFINE_integer("ftl_rich_dim", 320, "FTL: size of the rich feature g (Enc output) and of the identity "
                     "feature f (R output).")
flags.DEFINE_integer("ftl_ur_max_images", 20, "FTL: classes with at most this many images are "
                     "under-represented (UR).")
flags.DEFINE_integer("ftl_pretrain_steps", 1000, "FTL: steps of pre-training all modules with Eq. 4.")
flags.DEFINE_integer("ftl_alternate_steps", 5000, "FTL: N_iter, steps per stage in the alternation (paper 5k).")
flags.DEFINE_float("ftl_lr_pretrain", 2e-4, "FTL: Adam learning rate of pre-training.")
flags.DEFINE_float("ftl_lr_alternate", 1e-5, "FTL: Adam learning rate of stages 1 and 2.")
flags.DEFINE_float("ftl_alpha_softmax", 1.0, "FTL Eq. 4: weight of the softmax loss.")
flags.DEFINE_float("ftl_alpha_recon", 1.0, "FTL Eq. 4: weight of the reconstruction loss, Eq. 1: the sum over "
                   "an image's pixels of the squared error, pixels in [0, 1] (1/(H·W·3) gives the per-pixel mean).")
flags.DEFINE_float("ftl_alpha_reg", 0.25, "FTL Eq. 4: weight of the m-L2 regulariser ‖Wᵀf‖².")
flags.DEFINE_float("ftl_pca_energy", 0.95, "FTL: share of the regular-class covariance the PCA basis Q keeps.")
flags.DEFINE_integer("ftl_pca_components", 0, "FTL: keep exactly this many PCA components instead (paper: 150).")
flags.DEFINE_string("ftl_pose_attribute", "", "FTL Eq. 5: per-image attribute column (e.g. yaw) bounding "
                    "which images make a class centre; empty = all images.")
flags.DEFINE_float("ftl_pose_threshold", 0.0, "FTL Eq. 5: τ, keep images with |p| + |p̄| ≤ τ.")

flags.DEFINE_string("init_checkpoint", None, "Start from this train.py workdir's latest checkpoint (the backbone; "
                    "the head too when the classes match) or from an exported SavedModel folder (the backbone), "
                    "e.g. an ArcFace model before DDL fine-tuning.")
flags.DEFINE_string("ddl_attribute", "", "DDL: per-image attribute column defining easy/hard partitions (e.g. "
                    "light_azimuth, yaw, resolution).")
flags.DEFINE_bool("ddl_abs", True, "DDL: compare |attribute| with the ranges.")
flags.DEFINE_list("ddl_ranges", [], "DDL: lo:hi ranges of the attribute, teacher first, then one per student "
                  "(e.g. 0:25,60:90,90:130).")
flags.DEFINE_list("ddl_partition_lists", [], "DDL: instead of ranges, CSV files with a path column, teacher first.")
flags.DEFINE_integer("ddl_pairs_per_replica", 8, "DDL: b, positive pairs (and distinct identities) per partition "
                     "and replica; a replica sees 3b(K+1) DDL images plus its classification batch.")
flags.DEFINE_integer("ddl_pairs_per_identity", 20, "DDL: offline positive pairs kept per identity and partition.")
flags.DEFINE_float("ddl_weight", 1.0, "DDL: weight of L_DDL next to the head loss (Eq. 8).")
flags.DEFINE_integer("ddl_bins", 101, "DDL: R, histogram nodes in [-1, 1] (Eq. 3); ours (the paper gives none).")
flags.DEFINE_float("ddl_gamma", 50.0, "DDL: γ of the Gaussian kernel (Eq. 4), σ = 1/√(2γ). Ours (the paper "
                   "gives none): 50, σ = 0.1 as in TFace.")
flags.DEFINE_float("ddl_lambda_pos", 0.1, "DDL: λ1, KL weight of positive pairs (Eq. 5).")
flags.DEFINE_float("ddl_lambda_neg", 0.02, "DDL: λ2, KL weight of negative pairs (Eq. 5).")
flags.DEFINE_float("ddl_lambda_order", 0.5, "DDL: λ3, order loss weight (Eq. 6).")
flags.DEFINE_float("ddl_outlier", 0.0, "DDL: positive pairs with a cosine below this are dropped as outliers.")
flags.DEFINE_enum("ddl_distance", "kl", ["kl", "js", "emd"], "DDL: distribution distance (ablation).")
flags.DEFINE_enum("ddl_terms", "both", ["both", "kl_only", "order_only"], "DDL: which terms (ablation).")
flags.DEFINE_enum("ddl_negatives", "hard", ["hard", "random"], "DDL: hard-mined or random negatives (ablation).")
flags.DEFINE_bool("ddl_detach_teacher", False, "DDL: stop gradients through the teacher histograms.")
