"""Data flags."""

from absl import flags

from tfface.config import RunConfig
from tfface.data.synth_scenarios import SCENARIOS

_D = RunConfig()  # every default lives in tfface.config

flags.DEFINE_enum("data", _D.setting("data"), ["synthfaces", "folder", "list", "tfrecord"],
                  "Training data: rendered SynthFaces, an image folder (--data_root/<identity>/<image>), a "
                  "CSV list file (--list_file: path,identity[,attributes]) or TFRecord shards (--tfrecords).")
flags.DEFINE_string("tfrecords", _D.setting("tfrecords"), "Glob of TFRecord shards written by `tfface-make-tfrecords`.")
flags.DEFINE_string("data_root", _D.setting("data_root"), "Image folder tree, or the folder list-file paths are "
                    "relative to.")
flags.DEFINE_string("list_file", _D.setting("list_file"), "CSV list file with header path,identity[,attribute "
                    "columns].")
flags.DEFINE_integer("image_size", _D.setting("image_size"), "Model input size in pixels (images are resized to it).")
flags.DEFINE_enum("sampler", _D.setting("sampler"), ["uniform", "balanced", "pk"],
                  "Batch sampler: shuffled epochs, class-balanced, or P identities × K images (--pk_k).")
flags.DEFINE_integer("pk_k", _D.setting("pk_k"), "K images per identity for --sampler=pk (P = batch_size / K).")
flags.DEFINE_bool("pk_strict", _D.setting("pk_strict"), "Refuse classes with fewer than K images instead of repeating "
                  "images.")
flags.DEFINE_bool("flip", _D.setting("flip"), "Random horizontal flips during training.")
flags.DEFINE_integer("synth_identities", _D.setting("synth_identities"), "SynthFaces training identities.")
flags.DEFINE_integer("synth_heldout", _D.setting("synth_heldout"), "SynthFaces identities held out for verification.")
flags.DEFINE_integer("synth_max_images", _D.setting("synth_max_images"), "SynthFaces: images of the largest classes "
                     "(long tail).")
flags.DEFINE_integer("synth_seed", _D.setting("synth_seed"), "SynthFaces rendering seed.")
flags.DEFINE_enum("synth_scenario", _D.setting("synth_scenario"), list(SCENARIOS), "SynthFaces layout: default "
                  "(long tail) or the setting of one paper's mechanism: ur_pose (FTL), longtail (DiscFace, SFT), "
                  "hard_partitions (DDL), density (IDA); tfface/data/synth_scenarios.py says what each renders.")
flags.DEFINE_string("cache_dir", _D.setting("cache_dir"), "Where SynthFaces is rendered once (default $TFFACE_CACHE or "
                    "~/.cache/tfface).")
flags.DEFINE_enum("augment", _D.setting("augment"), ["none", "light", "medium", "heavy"], "Augmentation preset "
                  "(tfface/data/augment.py; see the families below, whose flags above 0 replace the preset's).")
flags.DEFINE_float("aug_crop", _D.setting("aug_crop"), "Scale-and-shift jitter: crop side in [1-s, 1+s/2], centre "
                   "moved by up to s/2.")
flags.DEFINE_float("aug_rotate", _D.setting("aug_rotate"), "Rotation by up to ± this many degrees.")
flags.DEFINE_float("aug_color", _D.setting("aug_color"), "Colour jitter s: brightness ±s, contrast and saturation "
                   "×[1-s, 1+s], hue ±s/4.")
flags.DEFINE_float("aug_gray", _D.setting("aug_gray"), "Probability of a grayscale image.")
flags.DEFINE_float("aug_lowres", _D.setting("aug_lowres"), "Probability of low-resolution simulation (down to "
                   "1/6–1/2 of the side, then back up).")
flags.DEFINE_float("aug_blur", _D.setting("aug_blur"), "Probability of a Gaussian blur (σ 0.5–2 px at 112 px).")
flags.DEFINE_float("aug_jpeg", _D.setting("aug_jpeg"), "Probability of JPEG re-compression (quality 30–95).")
flags.DEFINE_float("aug_erase", _D.setting("aug_erase"), "Probability of an occluding gray rectangle (2–25% of the "
                   "image).")
