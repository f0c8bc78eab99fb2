"""Evaluate an exported model (or a training checkpoint): verification and the other protocols (the program
is :mod:`tfface.programs.evaluate_cli`, also installed as ``tfface-evaluate``).

    python evaluate.py --model=runs/X/export --eval_pairs=pairs.csv
    python evaluate.py --checkpoint=runs/X --eval_pairs=lfw/pairs.txt --eval_root=lfw/images
"""

from tfface.programs.evaluate_cli import run

if __name__ == "__main__":
    run()
