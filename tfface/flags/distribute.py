"""Distribution and numerics flags."""

from absl import flags

from tfface.config import RunConfig

_D = RunConfig()  # every default lives in tfface.config

flags.DEFINE_integer("cpu_replicas", _D.setting("cpu_replicas"), "Split the CPU into N logical devices and mirror over "
                     "them (for trying distribution without GPUs). 0 = use the GPUs / one device.")
flags.DEFINE_enum("mixed_precision", _D.setting("mixed_precision"), ["none", "bf16", "fp16"],
                  "Mixed precision; heads, margins and losses stay float32.")
flags.DEFINE_integer("steps_per_loop", _D.setting("steps_per_loop"), "Training steps per tf.function call (up to the "
                     "next log, hook or checkpoint), so a small model on a fast accelerator is not bound by the "
                     "host; the weights are those of one step per call.")
flags.DEFINE_bool("jit_compile", _D.setting("jit_compile"), "XLA-compile the training step (slower on CPU here).")
