"""Classification-head flags."""

from absl import flags

flags.DEFINE_enum("head", "arcface", ["softmax", "normface", "cosface", "arcface", "combined"],
                  "Margin head.")
flags.DEFINE_float("scale", 32.0, "Scale s of normalised heads.")
flags.DEFINE_float("margin", 0.5, "Margin m (CosFace m, ArcFace m, combined m2).")
flags.DEFINE_float("m1", 1.0, "Combined head: multiplicative angular margin m1.")
flags.DEFINE_float("m3", 0.0, "Combined head: additive cosine margin m3.")
flags.DEFINE_float("mlreg_weight", 0.0, "FTL m-L2 regulariser weight α_reg on ‖Wᵀf‖² (0 = off).")
flags.DEFINE_integer("scale_warmup_steps", 0, "Warm the head scale up linearly from 8 to --scale.")
