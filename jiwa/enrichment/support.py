"""Whether what the user wrote supports a free-text claim about them: by meaning, with the multilingual embedder, so
an English claim can be checked against Italian or Indonesian turns."""

from __future__ import annotations

from jiwa.embedding import Embedder


class EvidenceSupport:
    def __init__(self, embedder: Embedder, min_similarity: float) -> None:
        self.embedder = embedder
        self.min_similarity = min_similarity

    def supports(self, claim: str, texts: list[str]) -> bool:
        """True when the claim is close enough to one of the texts, or to all of them read together."""
        if not texts:
            return False
        vectors = self.embedder.embed([claim, *texts, " ".join(texts)])
        return float((vectors[1:] @ vectors[0]).max()) >= self.min_similarity
