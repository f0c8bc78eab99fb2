"""Flags of the paper methods that plug into the trainer."""

from absl import flags

from tfface.config import RunConfig

_D = RunConfig()  # every default lives in tfface.config

flags.DEFINE_float("discface_lambda", _D.setting("discface_lambda"), "DiscFace (Kim et al. 2020): weight λ of the "
                   "discrepancy loss on the margin head (Eq. 4; the paper uses 0.2). 0 = off.")
flags.DEFINE_float("discface_basis_max_norm", _D.setting("discface_basis_max_norm"), "DiscFace: clip ξ_max of the "
                   "displacement basis norm.")
flags.DEFINE_integer("discface_num_bases", _D.setting("discface_num_bases"), "DiscFace: number of displacement bases "
                     "(each sample uses the nearest; the paper's Fig. 4(d) shows 2).")

flags.DEFINE_enum("feature_transform", _D.setting("feature_transform"), ["none", "sft", "sft_d", "translation"],
                  "SFT (Zhu et al. 2020) feature augmentation on any loss: sft = spherical rotation between class "
                  "centres (Eq. 3), sft_d = translation before normalisation then re-projection (Sec. 3.4), "
                  "translation = Eq. 2 on normalised features.")
flags.DEFINE_float("sft_lambda", _D.setting("sft_lambda"), "SFT: weight λ of the loss on the generated batch (Eq. 10).")
flags.DEFINE_enum("sft_scheme", _D.setting("sft_scheme"), ["balanced", "unbalanced"], "SFT training scheme (Sec. 3.5): "
                  "every feature to a random other class, or only head-class features to tail classes.")
flags.DEFINE_integer("sft_tail_threshold", _D.setting("sft_tail_threshold"), "SFT unbalanced scheme: classes with "
                     "fewer training images are tail classes.")
flags.DEFINE_integer("sft_warmup_steps", _D.setting("sft_warmup_steps"), "SFT: steps of centre tracking before "
                     "features are generated.")
flags.DEFINE_enum("sft_targets", _D.setting("sft_targets"), ["auto", "sample", "identity"], "SFT: draw target classes "
                  "per feature (sample, the paper's wording) or per identity (all images of an identity move to one "
                  "class, keeping the positive pairs a metric loss needs); auto = identity when --loss or --aux_loss "
                  "has a metric loss, else sample.")

flags.DEFINE_string("method", _D.setting("method"), "Training program, by registered name: standard (backbone + head + "
                    "losses above); ftl (Yin et al. 2019: Enc/Dec/R/FC, pre-training then two-stage alternation "
                    "with feature transfer to under-represented classes; the --ftl_* flags); ddl (Huang et al. "
                    "2020: head loss + distribution distillation from easy to hard partitions; the --ddl_* flags); "
                    "or one of yours, registered by a module named in --imports.")
flags.DEFINE_enum("ftl_head", _D.setting("ftl_head"), ["softmax", "normface", "cosface", "arcface", "combined"],
                  "FTL: the classifier FC (Eq. 2 is a linear softmax; m-L2, Eq. 3, only acts on softmax). "
                  "--scale/--margin/--m1/--m3 apply to margin heads.")
flags.DEFINE_enum("ftl_stage1", _D.setting("ftl_stage1"), ["sequential", "joint"], "FTL stage 1: sequential = "
                  "Algorithm 1's three updates per step (hard regular batch, UR batch, transferred batch, in turn); "
                  "joint = one update on the sum of the three losses.")
flags.DEFINE_enum("ftl_filter", _D.setting("ftl_filter"), ["paper", "linear"], "FTL: the filtering network R; paper = "
                  "linear → 2 deconvolutions → 2 convolutions → linear (Sec. 4; widths ours); linear = one linear "
                  "layer (an ablation, ours).")
flags.DEFINE_integer("ftl_rich_dim", _D.setting("ftl_rich_dim"), "FTL: size of the rich feature g (Enc output) and of "
                     "the identity feature f (R output).")
flags.DEFINE_integer("ftl_ur_max_images", _D.setting("ftl_ur_max_images"), "FTL: classes with at most this many images "
                     "are under-represented (UR).")
flags.DEFINE_integer("ftl_pretrain_steps", _D.setting("ftl_pretrain_steps"), "FTL: steps of pre-training all modules "
                     "with Eq. 4.")
flags.DEFINE_integer("ftl_alternate_steps", _D.setting("ftl_alternate_steps"), "FTL: N_iter, steps per stage in the "
                     "alternation (paper 5k).")
flags.DEFINE_float("ftl_lr_pretrain", _D.setting("ftl_lr_pretrain"), "FTL: Adam learning rate of pre-training.")
flags.DEFINE_float("ftl_lr_alternate", _D.setting("ftl_lr_alternate"), "FTL: Adam learning rate of stages 1 and 2.")
flags.DEFINE_float("ftl_alpha_softmax", _D.setting("ftl_alpha_softmax"), "FTL Eq. 4: weight of the softmax loss.")
flags.DEFINE_float("ftl_alpha_recon", _D.setting("ftl_alpha_recon"), "FTL Eq. 4: weight of the reconstruction loss, "
                   "Eq. 1: the sum over an image's pixels of the squared error, pixels in [0, 1] (1/(H·W·3) gives the "
                   "per-pixel mean).")
flags.DEFINE_float("ftl_alpha_reg", _D.setting("ftl_alpha_reg"), "FTL Eq. 4: weight of the m-L2 regulariser ‖Wᵀf‖².")
flags.DEFINE_float("ftl_pca_energy", _D.setting("ftl_pca_energy"), "FTL: share of the regular-class covariance the PCA "
                   "basis Q keeps.")
flags.DEFINE_integer("ftl_pca_components", _D.setting("ftl_pca_components"), "FTL: keep exactly this many PCA "
                     "components instead (paper: 150).")
flags.DEFINE_string("ftl_pose_attribute", _D.setting("ftl_pose_attribute"), "FTL Eq. 5: per-image attribute column "
                    "(e.g. yaw) bounding which images make a class centre; empty = all images.")
flags.DEFINE_float("ftl_pose_threshold", _D.setting("ftl_pose_threshold"), "FTL Eq. 5: τ, keep images with |p| + |p̄| "
                   "≤ τ.")

flags.DEFINE_string("init_checkpoint", _D.setting("init_checkpoint"), "Start from this train.py workdir's latest "
                    "checkpoint (the backbone; the head too when the classes match) or from an exported SavedModel "
                    "folder (the backbone), e.g. an ArcFace model before DDL fine-tuning.")
flags.DEFINE_string("ddl_attribute", _D.setting("ddl_attribute"), "DDL: per-image attribute column defining easy/hard "
                    "partitions (e.g. light_azimuth, yaw, resolution).")
flags.DEFINE_bool("ddl_abs", _D.setting("ddl_abs"), "DDL: compare |attribute| with the ranges.")
flags.DEFINE_list("ddl_ranges", list(_D.setting("ddl_ranges")), "DDL: lo:hi ranges of the attribute, teacher first, "
                  "then one per student (e.g. 0:25,60:90,90:130).")
flags.DEFINE_list("ddl_partition_lists", list(_D.setting("ddl_partition_lists")), "DDL: instead of ranges, CSV files "
                  "with a path column, teacher first.")
flags.DEFINE_integer("ddl_pairs_per_replica", _D.setting("ddl_pairs_per_replica"), "DDL: b, positive pairs (and "
                     "distinct identities) per partition and replica; a replica sees 3b(K+1) DDL images plus its "
                     "classification batch.")
flags.DEFINE_integer("ddl_pairs_per_identity", _D.setting("ddl_pairs_per_identity"), "DDL: offline positive pairs kept "
                     "per identity and partition.")
flags.DEFINE_float("ddl_weight", _D.setting("ddl_weight"), "DDL: weight of L_DDL next to the head loss (Eq. 8).")
flags.DEFINE_integer("ddl_bins", _D.setting("ddl_bins"), "DDL: R, histogram nodes in [-1, 1] (Eq. 3); ours (the paper "
                     "gives none).")
flags.DEFINE_float("ddl_gamma", _D.setting("ddl_gamma"), "DDL: γ of the Gaussian kernel (Eq. 4), σ = 1/√(2γ). Ours "
                   "(the paper gives none): 50, σ = 0.1 as in TFace.")
flags.DEFINE_float("ddl_lambda_pos", _D.setting("ddl_lambda_pos"), "DDL: λ1, KL weight of positive pairs (Eq. 5).")
flags.DEFINE_float("ddl_lambda_neg", _D.setting("ddl_lambda_neg"), "DDL: λ2, KL weight of negative pairs (Eq. 5).")
flags.DEFINE_float("ddl_lambda_order", _D.setting("ddl_lambda_order"), "DDL: λ3, order loss weight (Eq. 6).")
flags.DEFINE_float("ddl_outlier", _D.setting("ddl_outlier"), "DDL: positive pairs with a cosine below this are dropped "
                   "as outliers.")
flags.DEFINE_enum("ddl_distance", _D.setting("ddl_distance"), ["kl", "js", "emd"], "DDL: distribution distance "
                  "(ablation).")
flags.DEFINE_enum("ddl_terms", _D.setting("ddl_terms"), ["both", "kl_only", "order_only"], "DDL: which terms "
                  "(ablation).")
flags.DEFINE_enum("ddl_negatives", _D.setting("ddl_negatives"), ["hard", "random"], "DDL: hard-mined or random "
                  "negatives (ablation).")
flags.DEFINE_bool("ddl_detach_teacher", _D.setting("ddl_detach_teacher"), "DDL: stop gradients through the teacher "
                  "histograms.")
