"""BERT's uncased WordPiece tokenizer, from a `vocab.txt`: basic split, then greedy longest match. Pure.

Follows the reference BERT tokenizer: clean control characters, lowercase and strip accents (NFD,
drop combining marks), put spaces around CJK characters, split on whitespace and on every
punctuation character, then split each word into the longest vocabulary pieces, `##` marking a
continuation; a word with no such split, or longer than 100 characters, is `[UNK]`.
"""

import unicodedata
from collections.abc import Mapping, Sequence

MAX_WORD_CHARS = 100


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def basic_tokens(text: str) -> list[str]:
    """Return the words and punctuation marks of `text`, lowercased and without accents."""
    cleaned: list[str] = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
            continue
        if ch.isspace():
            cleaned.append(" ")
        elif _is_cjk(cp):
            cleaned.append(f" {ch} ")
        else:
            cleaned.append(ch)
    out: list[str] = []
    for word in "".join(cleaned).lower().split():
        word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
        current: list[str] = []
        for ch in word:
            if _is_punctuation(ch):
                if current:
                    out.append("".join(current))
                    current = []
                out.append(ch)
            else:
                current.append(ch)
        if current:
            out.append("".join(current))
    return out


class WordPiece:
    """Text to BERT token ids, with [CLS] … [SEP] and truncation to `max_length`."""

    def __init__(self, vocab: Mapping[str, int], *, max_length: int = 256) -> None:
        self.vocab = vocab
        self.max_length = max_length
        self.unk, self.cls, self.sep = vocab["[UNK]"], vocab["[CLS]"], vocab["[SEP]"]

    @classmethod
    def from_lines(cls, lines: Sequence[str], *, max_length: int = 256) -> "WordPiece":
        """Build from the lines of a `vocab.txt` (one token per line, id = line number)."""
        return cls({line.rstrip("\n"): i for i, line in enumerate(lines)}, max_length=max_length)

    def pieces(self, word: str) -> list[int]:
        """Return the ids of the longest-match pieces of one word, or [UNK]."""
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str) -> list[int]:
        """Return `[CLS] pieces… [SEP]`, truncated to `max_length` ids."""
        ids = [piece for word in basic_tokens(text) for piece in self.pieces(word)]
        return [self.cls, *ids[: self.max_length - 2], self.sep]
