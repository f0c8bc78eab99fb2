"""Aligned face chips from ordinary photos: detection, 5-point landmarks and a similarity warp onto a
template (``pip install 'tfface[align]'``, which brings dlib and its model files; nothing is downloaded)."""
