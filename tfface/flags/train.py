"""Optimisation and run flags."""

from absl import flags

from tfface.config import RunConfig

_D = RunConfig()  # every default lives in tfface.config

flags.DEFINE_string("workdir", _D.setting("workdir"), "Run folder (default: a new folder under runs/).")
flags.DEFINE_integer("steps", _D.setting("steps"), "Training steps.")
flags.DEFINE_integer("batch_size", _D.setting("batch_size"), "Global batch size (split over replicas).")
flags.DEFINE_enum("optimizer", _D.setting("optimizer"), ["sgd", "adam", "adamw"], "Optimiser.")
flags.DEFINE_float("lr", _D.setting("lr"), "Base learning rate.")
flags.DEFINE_float("momentum", _D.setting("momentum"), "SGD momentum.")
flags.DEFINE_float("weight_decay", _D.setting("weight_decay"), "Weight decay (decoupled, SGD / AdamW).")
flags.DEFINE_enum("lr_schedule", _D.setting("lr_schedule"), ["constant", "piecewise", "cosine"], "Learning-rate "
                  "schedule.")
flags.DEFINE_list("lr_boundaries", list(_D.setting("lr_boundaries")), "Piecewise schedule: steps where the lr is "
                  "multiplied by --lr_factor.")
flags.DEFINE_float("lr_factor", _D.setting("lr_factor"), "Piecewise schedule factor.")
flags.DEFINE_integer("warmup_steps", _D.setting("warmup_steps"), "Linear learning-rate warm-up steps.")
flags.DEFINE_integer("seed", _D.setting("seed"), "Seed for weights and sampling.")
flags.DEFINE_integer("log_every", _D.setting("log_every"), "Progress line and TensorBoard scalars every N steps.")
flags.DEFINE_integer("checkpoint_every", _D.setting("checkpoint_every"), "Checkpoint every N steps (and at the end).")
flags.DEFINE_string("config", None, "JSON file of settings by flag name — a recipe from configs/ or a run's "
                    "config.json (which reproduces that run); flags given on the command line override it.")
