"""tfface.evaluation."""
