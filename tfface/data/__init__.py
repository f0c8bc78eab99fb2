"""tfface.data."""
