"""Grouping similar texts by their unit vectors, without a clustering library."""

from __future__ import annotations

import numpy as np


def greedy_clusters(vectors: np.ndarray, similarity: float) -> list[list[int]]:
    """Greedy single pass: each question joins the first cluster whose founder it is close to."""
    founders: list[int] = []
    clusters: list[list[int]] = []
    for index in range(len(vectors)):
        if founders:
            scores = vectors[founders] @ vectors[index]
            best = int(np.argmax(scores))
            if scores[best] >= similarity:
                clusters[best].append(index)
                continue
        founders.append(index)
        clusters.append([index])
    return clusters
