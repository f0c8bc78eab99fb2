"""The toy 3-D, 4-class run of DiscFace Fig. 4: displacement directions align, unlike plain CosFace."""

from tfface.methods.discface import ToyConfig, toy_run


def test_directional_discrepancy_falls_with_discface():
    cfg = ToyConfig(steps=1200, eval_every=300)
    cos = toy_run(0.0, cfg)["history"]
    disc = toy_run(0.2, cfg)["history"]  # the paper's λ
    # rows: (step, mean intra-class cosine between displacement directions, radial discrepancy);
    # a higher cosine is a smaller directional discrepancy. The untrained net starts collapsed (high
    # cosine by accident), so progress is measured from the first evaluation after training starts.
    assert disc[-1][1] > disc[1][1] + 0.2, disc  # DiscFace: directional discrepancy falls in training
    assert cos[-1][1] < cos[1][1], cos  # CosFace: it grows
    assert disc[-1][1] > cos[-1][1] + 0.2, (disc[-1], cos[-1])
    assert disc[-1][2] < 0.5 * cos[-1][2]  # the radial discrepancy falls too
