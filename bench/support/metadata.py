"""What a benchmark reads back from a Dagster run: each materialization's metadata as plain values, its numbers as
numbers, each step's time and each failed step's error."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg


def materialized(result: dg.ExecuteInProcessResult, node: str) -> dict[str, object]:
    """The metadata of the node's first materialization, by key, as plain values."""
    return {key: value.value for key, value in result.asset_materializations_for_node(node)[0].metadata.items()}


def number(metadata: Mapping[str, object], key: str) -> float:
    """A numeric metadata value; anything else means the asset changed what it reports and the benchmark must follow."""
    value = metadata[key]
    if not isinstance(value, int | float):
        raise TypeError(f"metadata {key!r} is {value!r}, not a number")
    return value


def step_seconds(result: dg.ExecuteInProcessResult) -> dict[str, float]:
    """The wall time of each step that succeeded, by step key."""
    return {
        event.step_key: event.step_success_data.duration_ms / 1000
        for event in result.all_events
        if event.event_type_value == "STEP_SUCCESS" and event.step_key is not None
    }


def step_errors(result: dg.ExecuteInProcessResult) -> list[str]:
    """The error message of each step that failed."""
    errors = (event.step_failure_data.error for event in result.get_step_failure_events())
    return [error.message if error is not None else "the step failed without an error" for error in errors]
