"""What train.py and evaluate.py do, as functions: look the method or protocol up by name and run it."""
