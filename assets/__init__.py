"""Software-defined assets, one module per asset family."""
