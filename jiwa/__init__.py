"""Code shared by the pipeline and the server: settings, prompts, the local model, the embedder and the stores."""
