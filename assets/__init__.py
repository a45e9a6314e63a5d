"""Dagster software-defined assets: one package per asset family, with the resources, previews and checks they share."""
