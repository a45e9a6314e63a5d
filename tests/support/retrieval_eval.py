"""Moved to bench/support/retrieval_eval.py, which the benchmarks share; imported here for the tests."""

from bench.support.retrieval_eval import EVAL_PATH, load_questions, score

__all__ = ["EVAL_PATH", "load_questions", "score"]
