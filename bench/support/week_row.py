"""What one day of `python -m bench.week` measured: its row of the table (bench/support/week_report.py's COLUMNS)
and the details the JSON keeps beside it."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import asdict

from bench.support.week_people import DayLog
from bench.support.week_report import COLUMNS


def _down(turns) -> float | None:
    return round(sum(t.rating == "down" for t in turns) / len(turns), 3) if turns else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def day_row(
    index: int,
    date_key: str,
    users: int,
    day: DayLog,
    claude_spent: dict[str, float],
    data_markers: int,
    night: dict,
    analyst: dict,
    intents_accepted: int,
    withheld: list[dict],
) -> dict:
    """`data_markers`: canaries in what Claude was sent; `withheld`: the feedback rows withheld now."""
    turns = day.turns
    rated = [t for t in turns if t.rating]
    questions = [t for t in turns if t.kind != "greeting"]
    cached = [t for t in questions if t.source == "cache"]
    all_claude = sum(t.source == "claude" for t in turns) + sum(a["source"] == "claude" for a in day.adversary_replies)
    prompt_tokens = sum(claude_spent.get(kind, 0) for kind in ("input", "cache_read", "cache_write"))
    returning = [t for t in turns if t.returning]
    totals = sorted(t.total_ms for t in turns)
    row = {
        "day": index,
        "date": date_key,
        "users": users,
        "replies": len(turns),
        "rated": len(rated),
        "down_share": _down(rated),
        **{f"down_share_{lang}": _down([t for t in rated if t.language == lang]) for lang in ("en", "it", "id")},
        "cache_share": _share(len(cached), len(questions)),
        "cache_wrong": sum(t.cache_wrong for t in questions),
        "cache_wrong_share": _share(sum(t.cache_wrong for t in cached), len(cached)),
        "in_language_share": _share(sum(t.in_language for t in turns), len(turns)),
        "claude_replies": all_claude,
        "claude_prompt_tokens_per_reply": round(prompt_tokens / all_claude) if all_claude else None,
        "claude_cost_per_reply_usd": round(claude_spent.get("cost", 0.0) / all_claude, 6) if all_claude else None,
        "turn_p50_ms": round(statistics.median(totals), 1) if totals else None,
        "turn_p99_ms": round(totals[min(len(totals) - 1, int(0.99 * len(totals)))], 1) if totals else None,
        "returning_replies": len(returning),
        "memory_right_share": _share(sum(t.uses_right for t in returning), len(returning)),
        "memory_wrong_share": _share(sum(t.uses_wrong for t in returning), len(returning)),
        "markers_served": data_markers + sum(t.markers for t in turns),
        "withheld_items": len(withheld),
        "withheld_curated": sum(row["team_written"] for row in withheld),
        "curated_for_review": night["needs_review"],
        "intents_accepted": intents_accepted,
        "lessons_approved": analyst["lessons_approved"],
        "lessons_rejected": analyst["lessons_rejected"],
        "proposals": night["proposals"],
        "findings_kept": night["findings_kept"],
        "analysed": night["analysed"],
        "night_s": round(night["enrichment_s"] + night["nightly_s"], 1),
    }
    assert list(row) == COLUMNS, "the table's columns and the row disagree"
    return row


def day_details(index: int, day: DayLog, claude_spent: dict, night: dict, analyst: dict, keep_turns: bool) -> dict:
    by_kind: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for t in day.turns:
        if t.rating:
            by_kind[t.kind][f"{t.source}_{t.rating}"] += 1
    return {
        "day": index,
        "ratings_by_kind": {kind: dict(counts) for kind, counts in sorted(by_kind.items())},
        "sources": dict(Counter(t.source for t in day.turns)),
        "claude_spent": claude_spent,
        "night": night,
        "analyst": analyst,
        "turns": [asdict(t) for t in day.turns] if keep_turns else [],
    }
