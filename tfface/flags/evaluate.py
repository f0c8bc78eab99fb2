"""evaluate.py's own flags: the protocol and its settings (IDA, LiteRT, identification, easy/hard)."""

from absl import flags

from tfface.config import EvaluateConfig

_D = EvaluateConfig()  # every default lives in tfface.config

flags.DEFINE_string("model", _D.setting("model"), "SavedModel folder written by train.py (<workdir>/export).")
flags.DEFINE_string("checkpoint", _D.setting("checkpoint"), "A train.py workdir: its latest checkpoint is exported "
                    "first.")
flags.DEFINE_string("out", _D.setting("out"), "Where the protocol's JSON and plots go (default: the --checkpoint "
                    "workdir or the --model's parent folder).")
flags.DEFINE_string("protocol", _D.setting("protocol"), "evaluate.py, by registered name: verification on --eval_pairs "
                    "(scored by --score); distractors: rank-1 of --eval_list probes against one gallery image per "
                    "identity as --distractors join the gallery (MegaFace-style); ijb_1to1 / ijb_1toN: IJB-style "
                    "template verification over --template_pairs / identification of --probe_templates against "
                    "--gallery_templates (write a set with tfface-make-templates); all_pairs: every pair of the "
                    "--eval_list images, TAR@FAR down to 1e-6 with bootstrap intervals (--bootstrap) and ROC / DET "
                    "plots (scored by --score); retrieval / identification / distribution statistics of the labelled "
                    "images of --eval_list; sft: SFT's analysis of --eval_list (r_w, ‖Aσ − σ‖, divergence); easy_hard: "
                    "DDL's easy-gallery / hard-probe identification and distributions (--easy_hard_attribute, "
                    "--easy_hard_ranges); discface: DiscFace's displacement discrepancies of a --checkpoint; ftl_nn: "
                    "FTL's nearest-centre rank-1 (regular / UR, g and f) and one-shot coverage for held-out "
                    "--eval_list images of the training classes; ftl_visualize: FTL's decoded centres, transfers and "
                    "interpolations (PNG); scenario: the gap a SynthFaces scenario render was built for (probe "
                    "rank-1 per group against the training images' class centres, per-identity FAR of the held-out "
                    "identities at one threshold), with the render's meta.csv as --eval_list; ida_ssr: train IDA-L's "
                    "SSR on --eval_list embeddings; ida_sweep: IDA-R over "
                    "k and τ on --eval_pairs; ida_export: the SavedModel with score_ida (and density) signatures; "
                    "tflite: LiteRT files of the model (--tflite_quantize) with their agreement and, given "
                    "--eval_pairs, verification accuracy beside the SavedModel's; or one of yours, registered by a "
                    "module named in --imports.")
flags.DEFINE_string("eval_list", _D.setting("eval_list"), "CSV path,identity of test images (classes disjoint from "
                    "training) for the retrieval, identification, distribution and sft protocols.")
flags.DEFINE_integer("gallery_per_id", _D.setting("gallery_per_id"), "Identification: gallery images per identity (the "
                     "rest are probes).")
flags.DEFINE_float("open_set_fraction", _D.setting("open_set_fraction"), "Identification: share of identities left out "
                   "of the gallery (their probes are non-mated, for TPIR@FPIR).")
flags.DEFINE_string("easy_hard_attribute", _D.setting("easy_hard_attribute"), "easy_hard protocol: attribute column of "
                    "--eval_list splitting easy and hard images (e.g. light_azimuth, resolution).")
flags.DEFINE_list("easy_hard_ranges", list(_D.setting("easy_hard_ranges")), "easy_hard protocol: lo:hi ranges of "
                  "|attribute|, easy first, then one per hard partition (e.g. 0:25,60:90,90:130).")
flags.DEFINE_bool("easy_hard_abs", _D.setting("easy_hard_abs"), "easy_hard protocol: compare |attribute| with the "
                  "ranges.")
flags.DEFINE_enum("score", _D.setting("score"), ["cosine", "ida_r", "ida_l"], "Score of the verification, all_pairs, "
                  "identification, distractors and ijb protocols: cosine, IDA with reference-based support sets "
                  "(--ida_anchors) or with the learned density (--ida_ssr); a template's density is that of its "
                  "pooled feature.")
flags.DEFINE_string("ida_anchors", _D.setting("ida_anchors"), "IDA anchor set: an embeddings .npy/.npz, a CSV image "
                    "list (embedded with the model) or 'head' (the --checkpoint's class weights).")
flags.DEFINE_integer("ida_anchors_per_identity", _D.setting("ida_anchors_per_identity"), "IDA: images per identity "
                     "when --ida_anchors is a list (0 = all).")
flags.DEFINE_integer("ida_k", _D.setting("ida_k"), "IDA: support-set size k.")
flags.DEFINE_float("ida_tau", _D.setting("ida_tau"), "IDA: τ of DAO (Eq. 4).")
flags.DEFINE_string("ida_ssr", _D.setting("ida_ssr"), "IDA-L: the ssr.keras written by --protocol=ida_ssr.")
flags.DEFINE_integer("ida_ssr_steps", _D.setting("ida_ssr_steps"), "IDA-L: SSR training steps (paper 30k, lr ×0.1 at "
                     "50/67/83%).")
flags.DEFINE_float("ida_ssr_lr", _D.setting("ida_ssr_lr"), "IDA-L: SSR learning rate (paper 1e-3).")
flags.DEFINE_list("tflite_quantize", list(_D.setting("tflite_quantize")), "tflite protocol: variants to write — none "
                  "(float32), float16 (float16 weights), int8 (dynamic range: int8 weights, float activations).")
flags.DEFINE_integer("bootstrap", _D.setting("bootstrap"), "all_pairs and ijb_1to1 protocols: identity (subject) "
                     "bootstrap replicates for the 95% intervals of TAR@FAR (0 = none).")
flags.DEFINE_string("templates", _D.setting("templates"), "ijb_1to1 protocol: IJB-style metadata CSV (TEMPLATE_ID, "
                    "SUBJECT_ID, FILENAME, MEDIA_ID; FILENAME relative to --eval_root, default the CSV's folder).")
flags.DEFINE_string("template_pairs", _D.setting("template_pairs"), "ijb_1to1 protocol: template pairs, an IJB match "
                    "file (ENROLL_TEMPLATE_ID, VERIF_TEMPLATE_ID) or 't1 t2 label' lines.")
flags.DEFINE_string("gallery_templates", _D.setting("gallery_templates"), "ijb_1toN protocol: the gallery's metadata "
                    "CSV (same columns as --templates).")
flags.DEFINE_string("probe_templates", _D.setting("probe_templates"), "ijb_1toN protocol: the probes' metadata CSV; "
                    "probes of subjects without a gallery template are the non-mated ones.")
flags.DEFINE_string("template_weights", _D.setting("template_weights"), "ijb protocols: weight each image before "
                    "its media's average — '' (none, the default), 'norm' (its raw feature norm, from the model's "
                    "backbone.keras; insightface's use_norm_score) or the name of a metadata column (e.g. a "
                    "detector's face score).")
flags.DEFINE_string("distractors", _D.setting("distractors"), "distractors protocol: CSV path,identity of images of "
                    "people not in --eval_list, added to the gallery.")
flags.DEFINE_list("distractor_sizes", list(_D.setting("distractor_sizes")), "distractors protocol: the numbers of "
                  "distractors to report rank-1 at (default 0, 10, 100, … and all).")
