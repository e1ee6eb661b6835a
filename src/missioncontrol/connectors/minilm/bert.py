"""The BERT encoder of all-MiniLM-L6-v2 in numpy: embeddings, six post-norm layers, mean pooling. Pure.

Matches Hugging Face's `BertModel` (absolute positions, token type 0, erf GELU, LayerNorm eps 1e-12)
followed by sentence-transformers' mean pooling over real tokens and L2 normalisation. Weights are a
mapping from the checkpoint's tensor names to float32 arrays (PyTorch `Linear` stores [out, in]).
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

EPS = 1e-12


@dataclass(frozen=True, slots=True)
class BertShape:
    """The sizes of the encoder, as its `config.json` gives them."""

    hidden: int = 384
    heads: int = 12
    layers: int = 6


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: np.ndarray = (x - mean) / np.sqrt(var + EPS) * weight + bias
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz and Stegun 7.1.26: absolute error below 1.5e-7, well under float32 noise here.
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    out: np.ndarray = sign * (1.0 - poly * np.exp(-a * a))
    return out


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x * (1.0 / math.sqrt(2.0))))


class BertEncoder:
    """Token ids in, one unit-length sentence vector per input out."""

    def __init__(self, weights: Mapping[str, np.ndarray], shape: BertShape | None = None) -> None:
        self.w = weights
        self.shape = shape or BertShape()

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        # One 2-D product (rows = every token of the batch) is much faster than a batched 3-D one.
        flat = x.reshape(-1, x.shape[-1]) @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]
        out: np.ndarray = flat.reshape(*x.shape[:-1], -1)
        return out

    def embed(self, batch: Sequence[Sequence[int]]) -> np.ndarray:
        """Return an array [len(batch), hidden] of L2-normalised mean-pooled sentence embeddings."""
        n = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), n), dtype=np.int64)
        mask = np.zeros((len(batch), n), dtype=np.float32)
        for i, row in enumerate(batch):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1.0
        w, s = self.w, self.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(n)][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        head = s.hidden // s.heads
        blocked = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)  # padding never attended to
        for layer in range(s.layers):
            p = f"encoder.layer.{layer}"

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(len(batch), n, s.heads, head).transpose(0, 2, 1, 3)

            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) * (1.0 / math.sqrt(head)) + blocked
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            attention = scores / scores.sum(axis=-1, keepdims=True)
            context = (attention @ v).transpose(0, 2, 1, 3).reshape(len(batch), n, s.hidden)
            x = _layer_norm(
                self._linear(context, f"{p}.attention.output.dense") + x,
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
            )
            inner = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = _layer_norm(
                self._linear(inner, f"{p}.output.dense") + x,
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
            )
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        result: np.ndarray = pooled / norms
        return result
