"""Backbone flags."""

from absl import flags

flags.DEFINE_string("backbone", "small_cnn", "small_cnn | mobilefacenet | iresnet18/34/50/100.")
flags.DEFINE_integer("embedding_size", 128, "Embedding dimension (512 is the IResNet convention).")
flags.DEFINE_float("dropout", 0.0, "Dropout before the embedding FC layer.")
flags.DEFINE_bool("sync_bn", True, "Synchronise batch-norm statistics across replicas, so N replicas "
                  "train like one device on the global batch.")
