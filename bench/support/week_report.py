"""The week's table (Markdown and JSON), its goals, and one plot as PNG.

Neither matplotlib nor Pillow is installed in the project's environment, and nothing can be downloaded, so the
plot is drawn into a numpy array (lines, a grid and a small built-in pixel font) and written as PNG with zlib.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np

from bench.common import RESULTS_DIR, save

COLUMNS = [
    "day",
    "date",
    "users",
    "replies",
    "rated",
    "down_share",
    "down_share_en",
    "down_share_it",
    "down_share_id",
    "cache_share",
    "cache_wrong",
    "cache_wrong_share",
    "in_language_share",
    "claude_replies",
    "claude_prompt_tokens_per_reply",
    "claude_cost_per_reply_usd",
    "turn_p50_ms",
    "turn_p99_ms",
    "returning_replies",
    "memory_right_share",
    "memory_wrong_share",
    "markers_served",
    "withheld_items",
    "withheld_curated",
    "curated_for_review",
    "intents_accepted",
    "lessons_approved",
    "lessons_rejected",
    "proposals",
    "findings_kept",
    "analysed",
    "night_s",
]


def goals(rows: list[dict]) -> dict[str, dict]:
    """The issue's goals, last day against the first, each with the figures it rests on and whether it is met."""
    first, last = rows[0], rows[-1]

    def ratio(key):
        return (last[key] / first[key]) if first[key] and last[key] is not None else None

    down = ratio("down_share")
    cost = ratio("claude_cost_per_reply_usd")
    coverage = (last["cache_share"] or 0) - (first["cache_share"] or 0)
    wrong = [row["cache_wrong_share"] or 0 for row in rows]
    memory_right = [row["memory_right_share"] for row in rows if row["memory_right_share"] is not None]
    return {
        "rated_down_halves": {
            "first": first["down_share"],
            "last": last["down_share"],
            "met": down is not None and down <= 0.5,
        },
        "cache_coverage_up_20_points": {
            "first": first["cache_share"],
            "last": last["cache_share"],
            "points": round(100 * coverage, 1),
            "met": coverage >= 0.2,
        },
        "wrong_cache_at_most_1_percent": {"by_day": wrong, "met": all(share <= 0.01 for share in wrong)},
        "cost_per_claude_reply_down_30_percent": {
            "first": first["claude_cost_per_reply_usd"],
            "last": last["claude_cost_per_reply_usd"],
            "met": cost is not None and cost <= 0.7,
        },
        "no_marker_served": {
            "by_day": [row["markers_served"] for row in rows],
            "met": not any(row["markers_served"] for row in rows),
        },
        "nothing_curated_withheld": {
            "by_day": [row["withheld_curated"] for row in rows],
            "met": not any(row["withheld_curated"] for row in rows),
        },
        "memory_helps_returning_users": {"by_day": memory_right, "met": bool(memory_right) and max(memory_right) > 0},
        "memory_never_wrong": {
            "by_day": [row["memory_wrong_share"] for row in rows],
            "met": not any(row["memory_wrong_share"] for row in rows),
        },
    }


def markdown(results: dict) -> str:
    rows = results["rows"]
    lines = [
        f"# A simulated week of Jiwa ({results['settings']['days']} days, {results['settings']['users']} users, "
        f"{results['settings']['adversaries']} adversaries, LLAMA: {results['settings']['llm']}, seed {results['settings']['seed']})",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join("" if row[c] is None else str(row[c]) for c in COLUMNS) + " |" for row in rows]
    lines += ["", "| goal | figures | met |", "|---|---|---|"]
    for name, goal in results["goals"].items():
        figures = ", ".join(f"{k}: {v}" for k, v in goal.items() if k != "met")
        lines.append(f"| {name} | {figures} | {'yes' if goal['met'] else 'NO'} |")
    lines += ["", f"Accepted intents (intent: proposal): {results.get('accepted_intents') or 'none'}", ""]
    return "\n".join(lines)


def write_results(name: str, results: dict) -> dict[str, Path]:
    json_path = save(name, results)
    md_path = json_path.with_suffix(".md")
    md_path.write_text(markdown(results))
    png_path = json_path.with_suffix(".png")
    png_path.write_bytes(plot(results["rows"]))
    return {"json": json_path, "markdown": md_path, "png": png_path}


# --- the plot ---------------------------------------------------------------------------------------------------

SERIES = [
    ("down_share", "RATED DOWN", (214, 39, 40)),
    ("cache_share", "FROM CACHE", (31, 119, 180)),
    ("in_language_share", "IN LANGUAGE", (44, 160, 44)),
    ("memory_right_share", "MEMORY RIGHT", (148, 103, 189)),
    ("cost_vs_day_1", "COST/REPLY VS DAY 1", (255, 127, 14)),
]

# A 3x5 pixel font: each glyph is five rows of three pixels.
_FONT = {
    "A": "010101111101101", "B": "110101110101110", "C": "011100100100011", "D": "110101101101110",
    "E": "111100110100111", "F": "111100110100100", "G": "011100101101011", "H": "101101111101101",
    "I": "111010010010111", "J": "001001001101010", "K": "101101110101101", "L": "100100100100111",
    "M": "101111111101101", "N": "110101101101101", "O": "010101101101010", "P": "110101110100100",
    "Q": "010101101110011", "R": "110101110101101", "S": "011100010001110", "T": "111010010010010",
    "U": "101101101101111", "V": "101101101101010", "W": "101101111111101", "X": "101101010101101",
    "Y": "101101010010010", "Z": "111001010100111", "0": "111101101101111", "1": "010110010010111",
    "2": "110001010100111", "3": "110001010001110", "4": "101101111001001", "5": "111100110001110",
    "6": "011100111101111", "7": "111001010010010", "8": "111101111101111", "9": "111101111001110",
    " ": "000000000000000", ".": "000000000000010", "/": "001001010100100", "-": "000000111000000",
    "%": "101001010100101", ":": "000010000010000",
}  # fmt: skip


def _text(image: np.ndarray, x: int, y: int, text: str, colour, scale: int = 2) -> None:
    for index, char in enumerate(text.upper()):
        glyph = _FONT.get(char, _FONT[" "])
        for bit, on in enumerate(glyph):
            if on == "1":
                row, col = divmod(bit, 3)
                top, left = y + row * scale, x + (index * 4 + col) * scale
                image[top : top + scale, left : left + scale] = colour


def _line(image: np.ndarray, start, end, colour, width: int = 2) -> None:
    (x0, y0), (x1, y1) = start, end
    steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    for t in np.linspace(0, 1, steps):
        x, y = int(round(x0 + (x1 - x0) * t)), int(round(y0 + (y1 - y0) * t))
        image[max(0, y - width // 2) : y + width - width // 2, max(0, x - width // 2) : x + width - width // 2] = colour


def plot(rows: list[dict]) -> bytes:
    """Shares per day (0 to 1; cost per Claude reply as a ratio to day 1), one coloured line each."""
    width, height, left, right, top, bottom = 760, 420, 60, 220, 40, 50
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    _text(image, left, 12, "JIWA: A SIMULATED WEEK", (0, 0, 0), scale=3)
    plot_w, plot_h = width - left - right, height - top - bottom
    y_of = lambda value: top + plot_h - int(round(min(max(value, 0.0), 1.6) / 1.6 * plot_h))  # noqa: E731
    days = len(rows)
    x_of = lambda index: left + (int(round(index * plot_w / (days - 1))) if days > 1 else plot_w // 2)  # noqa: E731
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6):
        _line(image, (left, y_of(tick)), (left + plot_w, y_of(tick)), (225, 225, 225), width=1)
        _text(image, 12, y_of(tick) - 5, f"{tick:.1f}", (80, 80, 80))
    for index, row in enumerate(rows):
        _text(image, x_of(index) - 4, top + plot_h + 12, f"D{row['day']}", (80, 80, 80))
    _line(image, (left, top), (left, top + plot_h), (0, 0, 0), width=1)
    _line(image, (left, top + plot_h), (left + plot_w, top + plot_h), (0, 0, 0), width=1)
    first_cost = rows[0].get("claude_cost_per_reply_usd")
    for position, (key, label, colour) in enumerate(SERIES):
        if key == "cost_vs_day_1":
            values = [
                row["claude_cost_per_reply_usd"] / first_cost
                if first_cost and row["claude_cost_per_reply_usd"]
                else None
                for row in rows
            ]
        else:
            values = [row.get(key) for row in rows]
        points = [(x_of(i), y_of(v)) for i, v in enumerate(values) if v is not None]
        for a, b in zip(points, points[1:], strict=False):
            _line(image, a, b, colour, width=3)
        for x, y in points:
            image[max(0, y - 3) : y + 4, max(0, x - 3) : x + 4] = colour
        legend_y = top + 10 + position * 22
        image[legend_y : legend_y + 10, width - right + 15 : width - right + 25] = colour
        _text(image, width - right + 32, legend_y, label, (0, 0, 0))
    return _png(image)


def _png(image: np.ndarray) -> bytes:
    height, width, _ = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def load(name: str = "week") -> dict:
    return json.loads((RESULTS_DIR / f"{name}.json").read_text())
