"""tfface: deep face recognition in TensorFlow/Keras.

Importing tfface sets ``TF_ENABLE_ONEDNN_OPTS=1`` (unless already set) before TensorFlow loads.
"""

from tfface.env import configure_tf_env, require_tensorflow

configure_tf_env()
require_tensorflow()

__version__ = "0.1.0"
