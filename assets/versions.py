"""What the configured models contribute to code versions, read when the code location loads.

A different GGUF, llama.cpp server model or embedder writes different rows, so it marks the assets that use it
stale in the UI; the other settings are read when a run starts.
"""

from jiwa.embedding import EmbedderSettings
from jiwa.llm import LlamaSettings
from jiwa.settings import ClaudeSettings


def configured_model() -> str:
    return f"llm={LlamaSettings().model_id}"


def configured_embedder() -> str:
    return f"embedder={EmbedderSettings().vectors_id}"


def configured_claude() -> str:
    """The primer is sized for the Claude models' cache minimum: another model may need a longer one."""
    claude = ClaudeSettings()
    return f"claude={','.join(claude.claude_models)}+min={claude.claude_cache_min_tokens}"
