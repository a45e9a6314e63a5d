"""Code shared by the pipeline and the server: settings, prompts, the local model, the embedder and the stores."""

import os

# Lance logs a deprecation warning on every scored query; keep its log for real problems. Set here, before any
# module of the package can import lancedb, because the logger reads it once.
os.environ.setdefault("LANCEDB_LOG", "error")
