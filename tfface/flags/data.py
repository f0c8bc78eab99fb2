"""Data flags."""

from absl import flags

flags.DEFINE_enum("data", "synthfaces", ["synthfaces", "folder", "list", "tfrecord"],
                  "Training data: rendered SynthFaces, an image folder (--data_root/<identity>/<image>), a "
                  "CSV list file (--list_file: path,identity[,attributes]) or TFRecord shards (--tfrecords).")
flags.DEFINE_string("tfrecords", None, "Glob of TFRecord shards written by `tfface-make-tfrecords`.")
flags.DEFINE_string("data_root", None, "Image folder tree, or the folder list-file paths are relative to.")
flags.DEFINE_string("list_file", None, "CSV list file with header path,identity[,attribute columns].")
flags.DEFINE_integer("image_size", 64, "Model input size in pixels (images are resized to it).")
flags.DEFINE_enum("sampler", "uniform", ["uniform", "balanced", "pk"],
                  "Batch sampler: shuffled epochs, class-balanced, or P identities × K images (--pk_k).")
flags.DEFINE_integer("pk_k", 4, "K images per identity for --sampler=pk (P = batch_size / K).")
flags.DEFINE_bool("pk_strict", False, "Refuse classes with fewer than K images instead of repeating images.")
flags.DEFINE_bool("flip", True, "Random horizontal flips during training.")
flags.DEFINE_integer("synth_identities", 1000, "SynthFaces training identities.")
flags.DEFINE_integer("synth_heldout", 300, "SynthFaces identities held out for verification.")
flags.DEFINE_integer("synth_max_images", 120, "SynthFaces: images of the largest classes (long tail).")
flags.DEFINE_integer("synth_seed", 0, "SynthFaces rendering seed.")
flags.DEFINE_string("cache_dir", None, "Where SynthFaces is rendered once (default $TFFACE_CACHE or "
                    "~/.cache/tfface).")
