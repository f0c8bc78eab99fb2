"""tfface: deep face recognition in TensorFlow/Keras.

``tfface.load(path)`` gives a trained model as a :class:`tfface.api.Recognizer` (embed, verify, enroll,
identify).

Importing ``tfface`` has no side effect: it changes no environment variable and does not load TensorFlow
(its subpackages do, when imported). The programs (train.py, evaluate.py) call
:func:`tfface.env.configure_tf_env` before TensorFlow loads; a script of yours can do the same.
"""

__version__ = "0.2.0"


def load(path, align=False):
    """A trained model, ready to embed, verify, enroll and identify faces: see :func:`tfface.api.load`."""
    from tfface.api import load as load_model

    return load_model(path, align)

