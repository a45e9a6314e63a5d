"""The prompt files, one YAML per prompt (read by jiwa.prompts). A package only so that a built wheel carries them."""
