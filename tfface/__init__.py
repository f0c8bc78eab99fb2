"""tfface: deep face recognition in TensorFlow/Keras.

Importing ``tfface`` has no side effect: it changes no environment variable and does not load TensorFlow
(its subpackages do, when imported). The programs (train.py, evaluate.py) call
:func:`tfface.env.configure_tf_env` before TensorFlow loads; a script of yours can do the same.
"""

__version__ = "0.1.0"
