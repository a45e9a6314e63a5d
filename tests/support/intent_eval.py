"""Moved to bench/support/intent_eval.py, which the benchmarks share; imported here for the tests."""

from bench.support.intent_eval import EVAL_PATH, EvalCase, EvalScore, load_cases, score

__all__ = ["EVAL_PATH", "EvalCase", "EvalScore", "load_cases", "score"]
