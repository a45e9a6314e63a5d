"""A week of Jiwa, simulated: `python -m bench.week`.

Scripted users (bench/data/week_personas.yaml) come back day after day and ask questions from the team's pool
(bench/data/week_questions.yaml) through the real chat server over HTTP (in-process, under uvicorn); only Claude is
faked, by a grounded fake of the Messages API (bench/support/week_claude.py). Each reply is judged by rule and rated through
the feedback endpoint, and each conversation ended, so the enrichment sensor picks it up. After each simulated day
the real Dagster code runs: a tick of the finished_conversations sensor and the conversation_enrichment runs it asks
for, then the nightly_learning job for that day's partition. A scripted analyst then works through the launches the
team uses: review_intent_proposal with the reviewed answers of bench/data/week_analyst_backlog.yaml, and
review_learned_insights. A few accounts of one tenant try to poison (the attack corpus) and brigade (rating good
answers down). What each day measured goes to bench/results/week.{json,md,png}.

Simulated time: day d of n is the Bali calendar day n - d + 1 days before today. The server's clock
(serving.conversations.utc_now, the stamp of every stored event, as tests/test_learning_attacks.py's
yesterday_clock does) is set to that day, 08:00 Bali, advancing 20 s a stamp; the sensor is ticked with a cursor
at the start of that day; the nightly job runs that day's partition. Everything else reads the real clock: the
memory block says how long ago a value was seen, and a welcome back how long ago the last chat was, as of today
(so a value seen on day 1 reads "7 days ago" on day 2). The server compares the facts' review dates with
FACTS_CHECKED_ON, a day on which the team's facts are all within review, as the tests do.

The parts live in bench/support/week_*.py: the people and their calendar (week_people), a day's visits and
adversaries (week_days), the judging of a reply (week_judge), the night and the analyst (week_pipeline), the HTTP
client (week_client), a day's row (week_row) and the table, goals and plot (week_report).
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from datetime import datetime, timedelta

import dagster as dg
import httpx

import serving.conversations
from assets.knowledge import cultural_primer, cultural_topics, curated_insights
from assets.nightly.days import BALI
from bench.common import parse
from bench.support.publish import FACTS_CHECKED_ON, publish_team_cache
from bench.support.server import LiveServer, publish_curated, server_settings
from bench.support.week_claude import GroundedClaude
from bench.support.week_days import Week
from bench.support.week_people import SimClock
from bench.support.week_report import goals, write_results
from serving.app import create_app


def simulate(args) -> dict:
    """The whole week; the results (rows, goals, settings) as written to the results folder."""
    os.environ.setdefault("ANTHROPIC_API_KEY", "bench-key-not-a-secret")
    with tempfile.TemporaryDirectory(prefix="jiwa-week-") as folder:
        data_uri = args.data_dir or f"{folder}/stores"
        week = Week(args, data_uri)
        publish_curated(week.resources, week.instance)
        assert dg.materialize([cultural_topics, curated_insights, cultural_primer], resources=week.resources).success
        publish_team_cache(week.resources)
        claude = GroundedClaude().start()
        clock = SimClock()
        real_clock = serving.conversations.utc_now
        serving.conversations.utc_now = clock
        settings = server_settings(data_uri, claude.url, rate_limit_per_minute=1_000_000, claude_timeout_s=10.0)
        settings = settings.model_copy(update={"facts_review_date": FACTS_CHECKED_ON})
        rows = []
        try:
            with LiveServer(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=60) as client:
                today = datetime.now(BALI).replace(hour=0, minute=0, second=0, microsecond=0)
                for index in range(1, args.days + 1):
                    date = today - timedelta(days=args.days - index + 1)
                    clock.start(date + timedelta(hours=8))
                    rows.append(week.day(client, claude, index, date.strftime("%Y-%m-%d")))
        finally:
            serving.conversations.utc_now = real_clock
            claude.stop()
    return {
        "settings": {
            "days": args.days,
            "users": len(week.people),
            "adversaries": len(week.adversaries),
            "seed": args.seed,
            "llm": "fake" if args.fake_llm else "SmolLM2 (configured GGUF)",
            "facts_review_date": FACTS_CHECKED_ON.isoformat(),
        },
        "rows": rows,
        "goals": goals(rows),
        "accepted_intents": week.analyst.accepted,
        "details": week.details,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=7, help="simulated Bali days (default 7)")
    parser.add_argument("--users", type=int, default=66, help="scripted users, balanced over tenants and languages")
    parser.add_argument("--adversaries", type=int, default=None, help="adversary accounts (default: all in the file)")
    parser.add_argument("--attacks-per-day", type=int, default=3, help="attack corpus attempts per poisoner a day")
    parser.add_argument("--seed", type=int, default=7, help="the simulation's random seed")
    parser.add_argument("--fake-llm", action="store_true", help="the fake LLAMA in the pipeline instead of SmolLM2")
    parser.add_argument("--data-dir", default=None, help="keep the stores here instead of a temp folder")
    parser.add_argument("--turns", action="store_true", help="keep every judged turn (message, reply) in the JSON")
    parser.add_argument("--name", default="week", help="results file name in bench/results/")
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    """From the command line with --smoke (one day, a handful of users, the fake LLAMA), or from argv in a test."""
    if argv is None:
        return parse(build_parser(), days=1, users=6, adversaries=1, attacks_per_day=1, fake_llm=True)
    return build_parser().parse_args(argv)


def main(argv=None) -> dict:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("dagster").setLevel(logging.WARNING)
    args = parse_args(argv)
    results = simulate(args)
    paths = write_results(args.name, results)
    print(paths["markdown"].read_text())
    return results


if __name__ == "__main__":
    main()
