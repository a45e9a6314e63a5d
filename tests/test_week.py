"""The simulated week (python -m bench.week) at its smallest: two days, eight users, a poisoner and a brigader, the
fake LLAMA. Every column of the table for every day, no poisoning marker served, nothing curated withheld."""

import json

from bench.common import RESULTS_DIR
from bench.support.week_report import COLUMNS
from bench.week import main


def test_a_small_week_reports_every_column_of_every_day_and_keeps_adversaries_out(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key-not-a-secret")
    results = main(["--days", "2", "--users", "8", "--adversaries", "2", "--fake-llm", "--name", "week_test"])

    rows = results["rows"]
    assert [row["day"] for row in rows] == [1, 2]
    assert all(list(row) == COLUMNS for row in rows)
    assert results["settings"]["users"] == 8 and results["settings"]["adversaries"] == 2
    assert all(row["replies"] > 0 and row["claude_replies"] > 0 for row in rows)
    assert all(row["markers_served"] == 0 for row in rows)  # nothing the attackers planted reached anyone
    assert all(row["withheld_curated"] == 0 for row in rows)  # brigading withholds nothing the team wrote
    assert rows[1]["returning_replies"] > 0 and rows[1]["analysed"] > 0  # the night's profiles reached day 2

    written = json.loads((RESULTS_DIR / "week_test.json").read_text())
    assert [row["day"] for row in written["rows"]] == [1, 2] and set(written["goals"]) == set(results["goals"])
    table = (RESULTS_DIR / "week_test.md").read_text()
    assert all(column in table for column in COLUMNS) and "| 2 |" in table
    assert (RESULTS_DIR / "week_test.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_readme_names_every_flag_of_the_week_and_only_those():
    import re

    from bench.week import build_parser
    from jiwa.paths import PROJECT_ROOT

    section = PROJECT_ROOT.joinpath("README.md").read_text().split("### A simulated week", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"(--[a-z-]+)", section))
    parser_flags = {action.option_strings[0] for action in build_parser()._actions if action.option_strings} - {"-h"}
    assert documented == parser_flags
    assert "python -m bench.week" in section and "bench/results/week.md" in section


def test_the_readme_describes_the_people_and_the_analyst_the_files_hold():
    import yaml

    from bench.support.week_people import DATA, RATE_NOISE, load_people

    people, adversaries = load_people(1000)
    assert len(people) == 62 and {p.tenant for p in people} == {"acme", "globex"}
    assert {p.language for p in people} == {"en", "it", "id"}
    assert len({p.situation for p in people}) == 7
    roles = [a["role"] for a in adversaries]
    assert (
        roles.count("poison") == 3 and roles.count("brigade") == 4 and {a["tenant"] for a in adversaries} == {"globex"}
    )
    assert yaml.safe_load((DATA / "week_analyst_backlog.yaml").read_text())["decisions_per_day"] == 3
    assert RATE_NOISE == 0.05
