"""Train a face-recognition model, export a SavedModel and evaluate verification (the program is
:mod:`tfface.programs.train_cli`, also installed as ``tfface-train``).

    python train.py                      # small CNN + ArcFace on SynthFaces, no download
    python train.py --backbone=iresnet50 --image_size=112 --list_file=train.csv
"""

from tfface.programs.train_cli import run

if __name__ == "__main__":
    run()
