"""The score of a pair of embeddings, as one object built from the settings: cosine, or IDA's log DAO (Liu et al.
2021, Eq. 4) with its log-density function — IDA-R from an anchor set and k, IDA-L from an SSR — and τ.

Protocols take a :class:`Score` and ask it for what they need (densities of a set, scores of pairs or of a
matrix); nothing below the programs passes a score's name, density function and τ around separately.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from tfface.scoring.ida import pair_scores, score_matrix

Density = Callable[[np.ndarray], np.ndarray]  # unit embeddings [N, D] → log F [N]


@dataclasses.dataclass(frozen=True)
class Score:
    """``name`` (cosine, ida_r, ida_l), ``density`` (None for cosine) and DAO's ``tau``."""

    name: str = "cosine"
    density: Density | None = None
    tau: float = 1.0

    @property
    def is_cosine(self) -> bool:
        return self.density is None

    def log_density(self, emb: np.ndarray) -> np.ndarray | None:
        """log F of each embedding (None for the cosine)."""
        return None if self.density is None else np.asarray(self.density(np.asarray(emb, np.float32)), np.float32)

    def pairs(self, emb1: np.ndarray, emb2: np.ndarray, log1: np.ndarray | None = None,
              log2: np.ndarray | None = None) -> np.ndarray:
        """Scores of row-aligned pairs; the log densities are computed when not given."""
        if self.density is not None and log1 is None:
            log1, log2 = self.log_density(emb1), self.log_density(emb2)
        return pair_scores(emb1, emb2, log1, log2, self.tau)

    def matrix(self, a: np.ndarray, b: np.ndarray, log_a: np.ndarray | None = None,
               log_b: np.ndarray | None = None) -> np.ndarray:
        """[len(a), len(b)] scores of unit rows; the log densities are computed when not given."""
        if self.density is not None and log_a is None:
            log_a, log_b = self.log_density(a), self.log_density(b)
        return score_matrix(a, b, log_a, log_b, self.tau)


COSINE = Score()
