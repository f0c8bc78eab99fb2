"""The run lifecycle every training program shares: strategy, workdir, data, model, restore, export, evaluate.

It knows no paper: methods (``tfface.methods``) call it; it never imports them.
"""
