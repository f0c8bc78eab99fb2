"""Classification-head flags."""

from absl import flags

from tfface.config import RunConfig

_D = RunConfig()  # every default lives in tfface.config

flags.DEFINE_enum("head", _D.setting("head"), ["softmax", "normface", "cosface", "arcface", "combined"],
                  "Margin head.")
flags.DEFINE_float("scale", _D.setting("scale"), "Scale s of normalised heads.")
flags.DEFINE_float("margin", _D.setting("margin"), "Margin m (CosFace m, ArcFace m, combined m2).")
flags.DEFINE_float("m1", _D.setting("m1"), "Combined head: multiplicative angular margin m1.")
flags.DEFINE_float("m3", _D.setting("m3"), "Combined head: additive cosine margin m3.")
flags.DEFINE_float("mlreg_weight", _D.setting("mlreg_weight"), "FTL m-L2 regulariser weight α_reg on ‖Wᵀf‖² (0 = off).")
flags.DEFINE_integer("scale_warmup_steps", _D.setting("scale_warmup_steps"), "Warm the head scale up linearly from 8 "
                     "to --scale.")
flags.DEFINE_enum("head_shards", _D.setting("head_shards"), ["auto", "on", "off"], "Shard the margin head's class "
                  "weights over the replicas (Partial FC): auto = on with more than one replica or a --sample_rate "
                  "below 1, when the loss and optimiser allow it.")
flags.DEFINE_float("sample_rate", _D.setting("sample_rate"), "Partial FC: the fraction of each shard's classes in "
                   "the softmax at each step (the batch's classes are always in); 1 = all.")
