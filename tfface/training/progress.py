"""A one-line progress report: step, loss, lr, images/s, ETA."""

from __future__ import annotations

import time

from tfface.messages import format_eta


class Progress:
    """Measures throughput between reports (excluding the first, compiling step)."""

    def __init__(self, total_steps: int, global_batch: int, start_step: int = 0):
        self.total, self.batch = total_steps, global_batch
        self.mark_step, self.mark_time = start_step, None

    def line(self, step: int, metrics: dict[str, float], lr: float) -> tuple[str, float]:
        now = time.perf_counter()
        ips = 0.0
        if self.mark_time is not None and step > self.mark_step:
            ips = (step - self.mark_step) * self.batch / (now - self.mark_time)
        self.mark_step, self.mark_time = step, now
        eta = (self.total - step) * self.batch / ips if ips else 0.0
        vals = " ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        return (f"step {step}/{self.total} {vals} lr {lr:.2e} "
                f"{ips:.0f} img/s ETA {format_eta(eta) if ips else '?'}"), ips
