"""Dagster resources: LLAMA, the embedder and the stores. Defaults come from the shared settings."""

import dagster as dg
from pydantic import Field, PrivateAttr

from jiwa.embedding import Embedder
from jiwa.llm import StructuredLLM, open_backend
from jiwa.settings import get_settings
from jiwa.store.lance import connect

_settings = get_settings()


class LlamaResource(dg.ConfigurableResource):
    """LLAMA, the local model that writes the offline assets: llama.cpp in process, or a llama.cpp server."""

    model_path: str = Field(default=_settings.llm_model_path, description="GGUF file; empty uses the embedded SmolLM2-135M-Instruct.")
    server_url: str = Field(default=_settings.llm_server_url, description="OpenAI-compatible llama.cpp server; overrides model_path when set.")
    server_model: str = Field(default=_settings.llm_server_model, description="Model name sent to the server.")
    server_api_key: str | None = Field(default=None, description="Bearer token for the server; pass dg.EnvVar('JIWA_LLM_SERVER_API_KEY').")
    context_size: int = Field(default=_settings.llm_context_size, description="Context window in tokens.")
    threads: int = Field(default=_settings.llm_threads, description="CPU threads; 0 uses every core.")
    gpu_layers: int = Field(default=_settings.llm_gpu_layers, description="Layers offloaded to a GPU; -1 offloads all.")
    temperature: float = Field(default=_settings.llm_temperature, description="Sampling temperature.")
    seed: int = Field(default=_settings.llm_seed, description="Sampling seed.")
    repeat_penalty: float = Field(default=_settings.llm_repeat_penalty, description="Penalty on repeated tokens.")
    max_retries: int = Field(default=_settings.llm_max_retries, description="Extra attempts for output that fails its schema.")
    concurrency: int = Field(default=1, description="Requests in flight at once; raise it to the server's parallel slots.")
    timeout_s: float = Field(default=_settings.llm_timeout_s, description="Per-request timeout against a server.")

    _llm: StructuredLLM | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        backend = open_backend(
            model_path=self.model_path,
            server_url=self.server_url,
            server_model=self.server_model,
            server_api_key=self.server_api_key,
            context_size=self.context_size,
            threads=self.threads,
            gpu_layers=self.gpu_layers,
            seed=self.seed,
            timeout_s=self.timeout_s,
            repeat_penalty=self.repeat_penalty,
        )
        self._llm = StructuredLLM(backend, temperature=self.temperature, seed=self.seed, max_retries=self.max_retries)

    def structured(self) -> StructuredLLM:
        if self._llm is None:
            raise dg.DagsterInvariantViolationError("LlamaResource used outside a run; call it from an asset.")
        return self._llm


class EmbedderResource(dg.ConfigurableResource):
    """Sentence embedder whose vectors the server's queries must match."""

    model_path: str = Field(default=_settings.embedding_model_path, description="sentence-transformers directory; empty uses all-MiniLM-L6-v2.")
    batch_size: int = Field(default=_settings.embedding_batch_size, description="Texts per encode batch.")
    int8: bool = Field(default=_settings.embedding_int8, description="Quantized int8 embedder; the server must use the same.")

    _embedder: Embedder | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._embedder = Embedder(self.model_path, batch_size=self.batch_size, int8=self.int8)

    def embedder(self) -> Embedder:
        if self._embedder is None:
            raise dg.DagsterInvariantViolationError("EmbedderResource used outside a run; call it from an asset.")
        return self._embedder


class StoresResource(dg.ConfigurableResource):
    """Where the LanceDB stores live: a folder or an s3:// / gs:// URI."""

    data_uri: str = Field(default=_settings.data_uri, description="Root URI of the stores.")

    def lance(self):
        return connect(self.data_uri)
