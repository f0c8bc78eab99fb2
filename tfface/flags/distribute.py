"""Distribution and numerics flags."""

from absl import flags

flags.DEFINE_integer("cpu_replicas", 0, "Split the CPU into N logical devices and mirror over them "
                     "(for trying distribution without GPUs). 0 = use the GPUs / one device.")
flags.DEFINE_enum("mixed_precision", "none", ["none", "bf16", "fp16"],
                  "Mixed precision; heads, margins and losses stay float32.")
flags.DEFINE_bool("jit_compile", False, "XLA-compile the training step (slower on CPU here).")
