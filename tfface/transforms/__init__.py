"""tfface.transforms."""
