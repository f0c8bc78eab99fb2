"""Evaluation flags."""

from absl import flags

flags.DEFINE_string("eval_pairs", None, "Pairs file: LFW pairs.txt or CSV path1,path2,same "
                    "(default for SynthFaces: its held-out pairs).")
flags.DEFINE_string("eval_root", None, "Folder the pairs' paths are relative to (default: the file's).")
flags.DEFINE_bool("eval_flip", True, "Embed original + mirrored image (sum).")
flags.DEFINE_integer("eval_batch", 256, "Batch size for embedding extraction.")
flags.DEFINE_integer("eval_every", 0, "In-training verification on --eval_pairs every N steps (0 = end only).")
flags.DEFINE_enum("protocol", "verification",
                  ["verification", "retrieval", "identification", "distribution", "sft", "easy_hard", "discface",
                   "ftl_nn", "ftl_visualize"],
                  "evaluate.py: verification on --eval_pairs; retrieval / identification / distribution "
                  "statistics on the labelled images of --eval_list; sft: SFT's analysis of --eval_list "
                  "(orthogonality r_w, ‖Aσ − σ‖, per-class divergence; Zhu et al. Sec. 3.4, 4.2); discface: the "
                  "displacement discrepancies of a --checkpoint on its training data (DiscFace Sec. 3.2); ftl_nn: "
                  "FTL's nearest-centre rank-1 (regular / UR, on g and f) and one-shot coverage for held-out "
                  "--eval_list images of the training classes; easy_hard: DDL's easy-gallery / hard-probe "
                  "identification and similarity distributions per partition of --eval_list (--easy_hard_attribute, "
                  "--easy_hard_ranges); ftl_visualize: FTL's decoded centres, transfers "
                  "and interpolations as PNG grids (both need an FTL --checkpoint).")
flags.DEFINE_string("eval_list", None, "CSV path,identity of test images (classes disjoint from training) for "
                    "the retrieval, identification, distribution and sft protocols.")
flags.DEFINE_integer("gallery_per_id", 1, "Identification: gallery images per identity (the rest are probes).")
flags.DEFINE_float("open_set_fraction", 0.1, "Identification: share of identities left out of the gallery "
                   "(their probes are non-mated, for TPIR@FPIR).")
flags.DEFINE_string("easy_hard_attribute", "", "easy_hard protocol: attribute column of --eval_list splitting "
                    "easy and hard images (e.g. light_azimuth, resolution).")
flags.DEFINE_list("easy_hard_ranges", [], "easy_hard protocol: lo:hi ranges of |attribute|, easy first, then one per "
                  "hard partition (e.g. 0:25,60:90,90:130).")
flags.DEFINE_bool("easy_hard_abs", True, "easy_hard protocol: compare |attribute| with the ranges.")
