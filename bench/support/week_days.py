"""A simulated day of `python -m bench.week`: who comes, what they ask and how they rate it, what the adversaries of
the day do, then the night and the analyst; its row of the table."""

from __future__ import annotations

import json
import logging
import random
import time
from collections import defaultdict

import dagster as dg
import httpx
import yaml

from assets.resources import LlamaResource
from bench.support.fakes import FakeLlamaResource
from bench.support.resources import pipeline_resources
from bench.support.week_claude import GroundedClaude
from bench.support.week_client import auth, chat, claude_counters, data_without_memory, end, rate, withheld_rows
from bench.support.week_judge import Judge
from bench.support.week_people import DATA, RATE_NOISE, DayLog, Persona, expected_values, load_people, round_robin
from bench.support.week_pipeline import Analyst, night
from bench.support.week_row import day_details, day_row
from jiwa.paths import PROJECT_ROOT

ATTACKS = PROJECT_ROOT / "tests" / "data" / "attack_corpus.yaml"
log = logging.getLogger("bench.week")


class Week:
    def __init__(self, args, data_uri: str) -> None:
        self.args = args
        self.data_uri = data_uri
        self.rng = random.Random(args.seed)
        self.people, adversaries = load_people(args.users)
        # Over roles, so that a small run still has a poisoner and a brigader.
        by_role = defaultdict(list)
        for account in adversaries:
            by_role[account["role"]].append(account)
        adversaries = round_robin(by_role.values())
        self.adversaries = adversaries[: args.adversaries] if args.adversaries is not None else adversaries
        self.pool = yaml.safe_load((DATA / "week_questions.yaml").read_text(encoding="utf-8"))
        backlog = yaml.safe_load((DATA / "week_analyst_backlog.yaml").read_text(encoding="utf-8"))
        self.attacks = yaml.safe_load(ATTACKS.read_text(encoding="utf-8"))["attempts"]
        topics = yaml.safe_load((PROJECT_ROOT / "assets/catalogue/cultural_topics.yaml").read_text())["topics"]
        self.judge = Judge(
            values=expected_values(backlog),
            topic_names={topic["id"]: topic["name"] for topic in topics},
            situation_words=self.pool["situation_words"],
            names={p.name for p in self.people},
            canaries=sorted({c.casefold() for attempt in self.attacks for c in attempt["canaries"]}),
        )
        llama = FakeLlamaResource() if args.fake_llm else LlamaResource()
        self.resources = pipeline_resources(data_uri, llama)
        self.instance = dg.DagsterInstance.ephemeral()
        self.analyst = Analyst(backlog, data_uri, self.resources, self.instance)
        self.attack_cursor = 0
        self.asked: dict[str, set[str]] = defaultdict(set)
        self.details: list[dict] = []

    def day(self, client: httpx.Client, claude: GroundedClaude, index: int, date_key: str) -> dict:
        log.info("day %d (%s)", index, date_key)
        claude.cache.clear()  # a day later, the 1-hour prompt cache has expired
        claude.replies.clear()
        before = claude_counters(client)
        day = DayLog()
        # On the first day most people come for the first time; then each comes back as often as their persona.
        visitors = [p for p in self.people if self.rng.random() < (max(p.visit, 0.6) if index == 1 else p.visit)]
        self.rng.shuffle(visitors)
        adversaries = list(self.adversaries)
        # Adversaries act among the users, not all at once.
        schedule: list[Persona | dict] = [*visitors, *adversaries]
        self.rng.shuffle(schedule)
        for who in schedule:
            if isinstance(who, Persona):
                self.visit(client, who, day)
            elif who["role"] == "poison":
                self.poison(client, who, day)
            else:
                self.brigade(client, who, day)
        after = claude_counters(client)
        markers = sum(self.judge.markers_in(data_without_memory(data)) for data, _ in claude.replies)
        night_done = night(date_key, self.resources, self.instance)
        analyst_done = self.analyst.day(date_key)
        time.sleep(1.0)  # the server picks up what the night and the analyst published
        spent = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
        row = day_row(
            index, date_key, len(visitors), day, spent, markers, night_done, analyst_done,
            intents_accepted=len(self.analyst.accepted), withheld=withheld_rows(self.data_uri),
        )  # fmt: skip
        self.details.append(day_details(index, day, spent, night_done, analyst_done, self.args.turns))
        log.info("day %d: %s", index, json.dumps(row))
        return row

    def visit(self, client: httpx.Client, person: Persona, day: DayLog) -> None:
        returning = person.days_seen > 0
        known = self.memory(client, person) if returning else {}
        lang = person.language
        messages: list[tuple[dict, str]] = []
        if not returning:
            intro = self.pool["introductions"][person.situation][lang].format(name=person.name)
            messages.append(({"id": "introduction", "kind": "greeting"}, intro))
        elif self.rng.random() < 0.5:
            messages.append(({"id": "greeting", "kind": "greeting"}, self.rng.choice(self.pool["greetings"][lang])))
        for question in self.pick_questions(person):
            messages.append((question, question["text"][lang]))
            for follow in question.get("then", []):
                if self.rng.random() < 0.6:
                    messages.append((follow, follow["text"][lang]))
        conversation = None
        for question, text in messages:
            answer = chat(client, person.tenant, person.id, text, conversation) | {"message": text}
            conversation = answer["conversation_id"]
            turn = self.judge.turn(person, question, answer, returning, known)
            rate_it = question["kind"] != "greeting" and self.rng.random() < 0.85
            if rate_it:
                good = turn.good if self.rng.random() >= RATE_NOISE else not turn.good
                turn.rating = "up" if good else "down"
                rate(client, person.tenant, person.id, answer["message_id"], turn.rating)
                day.ratings += 1
            day.turns.append(turn)
        end(client, person.tenant, conversation)
        person.days_seen += 1

    def pick_questions(self, person: Persona) -> list[dict]:
        questions = self.pool["questions"]
        mine = [q for q in questions if person.situation in q.get("for", [])]
        count = 1 + (self.rng.random() < 0.45)
        picked = []
        for _ in range(count):
            source = mine if mine and self.rng.random() < 0.4 else questions
            fresh = [q for q in source if q["id"] not in self.asked[person.id] and q not in picked] or source
            question = self.rng.choice(fresh)
            picked.append(question)
            self.asked[person.id].add(question["id"])
        return picked

    def memory(self, client: httpx.Client, person: Persona) -> dict:
        """What the user's profile holds now about their name and situation, as GET /v1/users/{id}/memory shows it."""
        response = client.get(f"/v1/users/{person.id}/memory", headers=auth(person.tenant))
        if response.status_code != 200 or not response.json().get("known"):
            return {}
        profile = response.json()["profile"]
        name = ((profile.get("facts") or {}).get("name") or {}).get("value")
        situation = ((profile.get("jiwa_context") or {}).get("life_situation") or {}).get("value")
        return {"name": name, "situation": situation}

    # --- adversaries ---------------------------------------------------------------------------------------------

    def poison(self, client: httpx.Client, account: dict, day: DayLog) -> None:
        for _ in range(self.args.attacks_per_day):
            attempt = self.attacks[self.attack_cursor % len(self.attacks)]
            self.attack_cursor += 1
            conversation, message_id = None, None
            for text in attempt["user_turns"]:
                answer = chat(client, account["tenant"], account["id"], text, conversation)
                conversation, message_id = answer["conversation_id"], answer["message_id"]
                day.adversary_replies.append(answer)
            if message_id is None:
                raise ValueError(f"attack {attempt['id']} has no user turn to rate the reply to")
            feedback = attempt["feedback"]
            rate(client, account["tenant"], account["id"], message_id, feedback["rating"], feedback.get("comment"))
            end(client, account["tenant"], conversation)

    def brigade(self, client: httpx.Client, account: dict, day: DayLog) -> None:
        """Asks common questions the team's cache answers well, and rates every answer down."""
        common = [q for q in self.pool["questions"] if q["kind"] == "common"]
        conversation = None
        for question in self.rng.sample(common, k=min(3, len(common))):
            answer = chat(client, account["tenant"], account["id"], question["text"][account["language"]], conversation)
            conversation = answer["conversation_id"]
            day.adversary_replies.append(answer)
            rate(client, account["tenant"], account["id"], answer["message_id"], "down", "useless")
        end(client, account["tenant"], conversation)
