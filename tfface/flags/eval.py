"""The run's verification flags (train.py and evaluate.py): pairs file, flip, batch, in-training evaluation."""

from absl import flags

from tfface.config import RunConfig

_D = RunConfig()  # every default lives in tfface.config

flags.DEFINE_string("eval_pairs", _D.setting("eval_pairs"), "Pairs file: LFW pairs.txt or CSV path1,path2,same "
                    "(default for SynthFaces: its held-out pairs).")
flags.DEFINE_string("eval_root", _D.setting("eval_root"), "Folder the pairs' paths are relative to (default: the "
                    "file's).")
flags.DEFINE_bool("eval_flip", _D.setting("eval_flip"), "Embed original + mirrored image (sum).")
flags.DEFINE_integer("eval_batch", _D.setting("eval_batch"), "Batch size for embedding extraction.")
flags.DEFINE_integer("eval_every", _D.setting("eval_every"), "In-training verification on --eval_pairs every N steps "
                     "(0 = end only).")
