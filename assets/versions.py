"""What the configured models contribute to code versions, read when the code location loads.

A different GGUF, llama.cpp server model or embedder writes different rows, so it marks the assets that use it
stale in the UI; the other settings are read when a run starts.
"""

from jiwa.embedding import EmbedderSettings
from jiwa.llm import LlamaSettings


def configured_model() -> str:
    return f"llm={LlamaSettings().model_id}"


def configured_embedder() -> str:
    return f"embedder={EmbedderSettings().vectors_id}"
