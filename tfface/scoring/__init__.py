"""tfface.scoring."""
