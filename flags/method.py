"""Flags of the paper methods that plug into the trainer."""

from absl import flags

flags.DEFINE_float("discface_lambda", 0.0, "DiscFace (Kim et al. 2020): weight λ of the discrepancy loss on the "
                   "margin head (Eq. 4; the paper uses 0.2). 0 = off.")
flags.DEFINE_float("discface_basis_max_norm", 0.05, "DiscFace: clip ξ_max of the displacement basis norm.")
flags.DEFINE_integer("discface_num_bases", 1, "DiscFace: number of displacement bases (each sample uses the "
                     "nearest; the paper's Fig. 4(d) shows 2).")
