"""Run a SavedModel signature through TensorFlow's TF1 session loader — the path saved_model_cli and TF
Serving's C++ loader take, which ``tf.saved_model.load`` does not exercise."""

import tensorflow as tf


def session_outputs(path: str, signature: str, feeds: dict) -> dict:
    """The signature's outputs (by name) for ``feeds`` (input name → array), in a fresh graph and session."""
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        meta = tf.compat.v1.saved_model.loader.load(sess, ["serve"], path)
        sig = meta.signature_def[signature]
        fetch = {k: v.name for k, v in sig.outputs.items()}
        return sess.run(fetch, {sig.inputs[k].name: v for k, v in feeds.items()})
