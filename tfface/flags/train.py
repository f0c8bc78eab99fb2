"""Optimisation and run flags."""

from absl import flags

flags.DEFINE_string("workdir", None, "Run folder (default: a new folder under runs/).")
flags.DEFINE_integer("steps", 1500, "Training steps.")
flags.DEFINE_integer("batch_size", 128, "Global batch size (split over replicas).")
flags.DEFINE_enum("optimizer", "sgd", ["sgd", "adam", "adamw"], "Optimiser.")
flags.DEFINE_float("lr", 0.1, "Base learning rate.")
flags.DEFINE_float("momentum", 0.9, "SGD momentum.")
flags.DEFINE_float("weight_decay", 5e-4, "Weight decay (decoupled, SGD / AdamW).")
flags.DEFINE_enum("lr_schedule", "cosine", ["constant", "piecewise", "cosine"], "Learning-rate schedule.")
flags.DEFINE_list("lr_boundaries", [], "Piecewise schedule: steps where the lr is multiplied by --lr_factor.")
flags.DEFINE_float("lr_factor", 0.1, "Piecewise schedule factor.")
flags.DEFINE_integer("warmup_steps", 200, "Linear learning-rate warm-up steps.")
flags.DEFINE_integer("seed", 0, "Seed for weights and sampling.")
flags.DEFINE_integer("log_every", 50, "Progress line and TensorBoard scalars every N steps.")
flags.DEFINE_integer("checkpoint_every", 1000, "Checkpoint every N steps (and at the end).")
flags.DEFINE_string("config", None, "JSON file of settings by flag name — a recipe from configs/ or a run's "
                    "config.json (which reproduces that run); flags given on the command line override it.")
