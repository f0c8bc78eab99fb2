"""The run's verification flags (train.py and evaluate.py): pairs file, flip, batch, in-training evaluation."""

from absl import flags

flags.DEFINE_string("eval_pairs", None, "Pairs file: LFW pairs.txt or CSV path1,path2,same "
                    "(default for SynthFaces: its held-out pairs).")
flags.DEFINE_string("eval_root", None, "Folder the pairs' paths are relative to (default: the file's).")
flags.DEFINE_bool("eval_flip", True, "Embed original + mirrored image (sum).")
flags.DEFINE_integer("eval_batch", 256, "Batch size for embedding extraction.")
flags.DEFINE_integer("eval_every", 0, "In-training verification on --eval_pairs every N steps (0 = end only).")
