"""Plain logic of conversation enrichment: transcripts, signals counted by rule, grounding claims, folding profiles."""
