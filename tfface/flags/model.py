"""Backbone flags."""

from absl import flags

from tfface.config import RunConfig

_D = RunConfig()  # every default lives in tfface.config

flags.DEFINE_string("backbone", _D.setting("backbone"), "small_cnn | mobilefacenet | iresnet18/34/50/100.")
flags.DEFINE_integer("embedding_size", _D.setting("embedding_size"), "Embedding dimension (512 is the IResNet "
                     "convention).")
flags.DEFINE_float("dropout", _D.setting("dropout"), "Dropout before the embedding FC layer.")
flags.DEFINE_bool("sync_bn", _D.setting("sync_bn"), "Synchronise batch-norm statistics across replicas, so N replicas "
                  "train like one device on the global batch.")
