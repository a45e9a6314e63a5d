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
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import random
import re
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import dagster as dg
import httpx
import lancedb
import yaml

import serving.conversations
from assets import nightly, response_cache
from assets.enrichment import conversation_analyses, jiwa_profiles
from assets.enrichment.sensor import EnrichmentCursor, finished_conversations
from assets.knowledge import cultural_primer, cultural_topics, curated_insights
from assets.nightly.days import BALI
from assets.resources import LlamaResource
from bench.common import parse
from bench.support.fake_anthropic import FakeAnthropic
from bench.support.fakes import FakeLlamaResource
from bench.support.metadata import step_errors
from bench.support.publish import FACTS_CHECKED_ON, publish_team_cache
from bench.support.resources import pipeline_resources
from bench.support.server import KEYS, LiveServer, publish_curated, server_settings
from bench.support.week_claude import grounded_reply
from bench.support.week_report import COLUMNS, goals, write_results
from jiwa.catalogue.intents import load_facts
from jiwa.domain.language import detect_language
from jiwa.domain.status import APPROVED, REJECTED
from jiwa.paths import PROJECT_ROOT
from jiwa.settings import AnalysisSettings
from jiwa.store.schema import FEEDBACK_TABLE, LEARNED_TABLE, PROPOSALS_TABLE
from serving.app import create_app

DATA = PROJECT_ROOT / "bench" / "data"
ATTACKS = PROJECT_ROOT / "tests" / "data" / "attack_corpus.yaml"
TEAM_ONLY = {"paraphrases_per_language": 0, "variants_per_language": 0}
STAMP_STEP = timedelta(seconds=20)
RATE_NOISE = 0.05  # a user sometimes rates against what the reply deserved
log = logging.getLogger("bench.week")


@dataclass
class Persona:
    id: str
    tenant: str
    name: str
    language: str
    register: str
    preference: str
    situation: str
    visit: float
    days_seen: int = 0


@dataclass
class Turn:
    """One reply as a user saw it, judged."""

    user: str
    tenant: str
    language: str
    kind: str
    source: str
    cache_intent: str | None
    good: bool
    in_language: bool
    cache_wrong: bool
    total_ms: float
    returning: bool
    uses_right: bool = False
    uses_wrong: bool = False
    rating: str | None = None
    markers: int = 0
    question: str = ""
    message: str = ""
    reply: str = ""


@dataclass
class DayLog:
    turns: list[Turn] = field(default_factory=list)
    adversary_replies: list[dict] = field(default_factory=list)
    ratings: int = 0


class GroundedClaude(FakeAnthropic):
    """The fake Messages API answering with bench.support.week_claude.grounded_reply; `replies` keeps (data block, reply)."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[tuple[str, str]] = []

    def reply_text(self, body: dict) -> str:
        message = body["messages"][-1]["content"]
        message = message if isinstance(message, str) else " ".join(part.get("text", "") for part in message)
        data = body["system"][-1]["text"] if isinstance(body["system"], list) else ""
        text = grounded_reply(message, data)
        self.replies.append((data, text))
        return text


class SimClock:
    """The server's event stamps: the simulated day, 20 seconds a stamp."""

    def __init__(self) -> None:
        self._now = datetime.now(BALI)
        self._lock = threading.Lock()

    def start(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment

    def __call__(self) -> datetime:
        with self._lock:
            self._now += STAMP_STEP
            return self._now


def load_people(users: int) -> tuple[list[Persona], list[dict]]:
    data = yaml.safe_load((DATA / "week_personas.yaml").read_text(encoding="utf-8"))
    people = [Persona(**entry) for entry in data["users"]]
    # A balanced subset: round robin over (tenant, language), so a small run still has both tenants and all languages.
    groups = defaultdict(list)
    for person in people:
        groups[(person.tenant, person.language)].append(person)
    order = [p for row in itertools.zip_longest(*groups.values()) for p in row if p is not None]
    return order[:users], data["adversaries"]


def expected_values(backlog: dict) -> dict[str, dict[str, str]]:
    """Each fact's value per language, as a good answer quotes it: the team's facts and the backlog's."""
    values = {}
    for fact_id, fact in load_facts().facts.items():
        values[fact_id] = {
            lang: fact.value[lang] if isinstance(fact.value, dict) else fact.value for lang in "en it id".split()
        }
    for item in backlog["intents"]:
        for fact_id, fact in item["decision"].get("facts", {}).items():
            values[fact_id] = {
                lang: fact.get("value_by_language", {}).get(lang) or fact["value"] for lang in ("en", "it", "id")
            }
    return values


class Week:
    def __init__(self, args, data_uri: str) -> None:
        self.args = args
        self.data_uri = data_uri
        self.rng = random.Random(args.seed)
        self.people, adversaries = load_people(args.users)
        # Round robin over roles, so that a small run still has a poisoner and a brigader.
        by_role = defaultdict(list)
        for account in adversaries:
            by_role[account["role"]].append(account)
        adversaries = [a for row in itertools.zip_longest(*by_role.values()) for a in row if a is not None]
        self.adversaries = adversaries[: args.adversaries] if args.adversaries is not None else adversaries
        self.pool = yaml.safe_load((DATA / "week_questions.yaml").read_text(encoding="utf-8"))
        self.backlog = yaml.safe_load((DATA / "week_analyst_backlog.yaml").read_text(encoding="utf-8"))
        self.attacks = yaml.safe_load(ATTACKS.read_text(encoding="utf-8"))["attempts"]
        self.canaries = sorted({c.casefold() for attempt in self.attacks for c in attempt["canaries"]})
        self.values = expected_values(self.backlog)
        self.situation_words = self.pool["situation_words"]
        self.names = {p.name for p in self.people}
        topics = yaml.safe_load((PROJECT_ROOT / "assets/catalogue/cultural_topics.yaml").read_text())["topics"]
        self.topic_names = {topic["id"]: topic["name"] for topic in topics}
        llama = FakeLlamaResource() if args.fake_llm else LlamaResource()
        self.resources = pipeline_resources(data_uri, llama)
        self.instance = dg.DagsterInstance.ephemeral()
        self.accepted: dict[str, str] = {}  # backlog intent -> proposal id
        self.decided_lessons: set[str] = set()
        self.attack_cursor = 0
        self.asked: dict[str, set[str]] = defaultdict(set)
        self.details: list[dict] = []

    # --- the day ---------------------------------------------------------------------------------------------

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
        markers = sum(self.markers_in(data_without_memory(data)) for data, _ in claude.replies)
        night = self.night(date_key)
        analyst = self.analyst(date_key)
        time.sleep(1.0)  # the server picks up what the night and the analyst published
        return self.row(index, date_key, visitors, day, before, after, markers, night, analyst)

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
            turn = self.judge(person, question, answer, returning, known)
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

    def judge(self, person: Persona, question: dict, answer: dict, returning: bool, known: dict) -> Turn:
        reply, lang = answer["reply"], person.language
        lowered = reply.casefold()
        source, intent = answer["source"], answer.get("cache_intent")
        # The catalogue's topic names are English; a reply that names one is still in the language around it.
        in_language = detect_language(without(reply, self.topic_names.values())) == lang
        intents = question.get("intents", [])
        facts_ok = all((self.values[f][lang] or "").casefold() in lowered for f in question.get("facts", []))
        cache_wrong = source == "cache" and question["kind"] != "greeting" and intent not in intents
        if question.get("facts"):
            good = facts_ok
        elif source == "cache":
            good = not cache_wrong
        elif question.get("topics"):
            good = any(self.topic_names[topic].casefold() in lowered for topic in question["topics"])
        else:
            good = True
        good = good and in_language and not cache_wrong and source != "fallback"
        turn = Turn(
            person.id, person.tenant, lang, question["kind"], source, intent, good, in_language, cache_wrong,
            float(answer["timings_ms"].get("total", 0.0)), returning,
        )  # fmt: skip
        turn.markers = self.markers_in(reply)
        turn.question, turn.message, turn.reply = question["id"], answer["message"], reply
        if returning:
            name, situation = known.get("name"), known.get("situation")
            name_right = name.casefold() == person.name.casefold() if name else False
            own_words = self.situation_words[person.situation]
            situation_right = any(w in situation.casefold() for w in own_words) if situation else False
            used = lambda value: bool(value) and value.casefold() in lowered  # noqa: E731
            turn.uses_right = (name_right and used(name)) or (situation_right and used(situation))
            turn.uses_wrong = (bool(name) and not name_right and used(name)) or (
                bool(situation) and not situation_right and used(situation)
            )
            # A name the reply gives that is another persona's, whatever the profile says, is wrong too.
            others = self.names - {person.name}
            turn.uses_wrong = turn.uses_wrong or any(re.search(rf"\b{re.escape(n)}\b", reply) for n in others)
        return turn

    def markers_in(self, text: str) -> int:
        lowered = text.casefold()
        return sum(canary in lowered for canary in self.canaries)

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

    # --- the night and the analyst -------------------------------------------------------------------------------

    def night(self, date_key: str) -> dict:
        started = time.perf_counter()
        start_of_day = datetime.strptime(date_key, "%Y-%m-%d").replace(tzinfo=BALI)
        lag = timedelta(seconds=AnalysisSettings().analysis_sensor_lag_s)
        cursor = EnrichmentCursor(watermark=start_of_day + lag).dump()
        sensor_resources = {"stores": self.resources["stores"], "analysis": self.resources["analysis"]}
        context = dg.build_sensor_context(resources=sensor_resources, instance=self.instance, cursor=cursor)
        requests = finished_conversations(context)
        analysed = 0
        for request in requests if isinstance(requests, list) else []:
            result = dg.materialize(
                [conversation_analyses, jiwa_profiles],
                resources=self.resources,
                run_config=request.run_config,
                instance=self.instance,
                tags=request.tags,
            )
            assert result.success, "conversation_enrichment failed"
            analysed += len(request.run_config["ops"]["conversation_analyses"]["config"]["conversation_tokens"])
        enriched = time.perf_counter() - started
        defs = dg.Definitions.merge(nightly.defs, dg.Definitions(resources=self.resources))
        result = defs.resolve_job_def("nightly_learning").execute_in_process(
            partition_key=date_key, instance=self.instance
        )
        assert result.success, "nightly_learning failed"
        metadata = {
            event.materialization.asset_key.to_user_string(): {
                k: v.value for k, v in event.materialization.metadata.items()
            }
            for event in result.get_asset_materialization_events()
        }
        return {
            "analysed": analysed,
            "enrichment_s": round(enriched, 1),
            "nightly_s": round(time.perf_counter() - started - enriched, 1),
            "findings_kept": metadata.get("nightly_findings", {}).get("kept", 0),
            "proposals": metadata.get("proposed_intents", {}).get("proposals", 0),
            "withheld": metadata.get("feedback_scores", {}).get("withheld", 0),
            "needs_review": metadata.get("feedback_scores", {}).get("needs_review", 0),
        }

    def analyst(self, date_key: str) -> dict:
        budget = self.backlog["decisions_per_day"]
        accepted: list[str] = []
        errors: list[str] = []
        proposals: dict[str, dict] = {}
        approved = rejected = 0
        questions = defaultdict(list)
        for row in table_rows(self.data_uri, PROPOSALS_TABLE):
            if row["day"] == date_key:
                questions[row["proposal"]].append(row["question"].casefold())
        for proposal_id, asked in sorted(questions.items()):
            if budget <= 0:
                break
            item = next(
                (
                    item
                    for item in self.backlog["intents"]
                    if item["decision"]["intent"] not in self.accepted
                    and sum(any(w in q for w in item["recognise"]) for q in asked) * 2 >= len(asked)
                ),
                None,
            )
            proposals[proposal_id] = {
                "questions": len(asked),
                "example": asked[0],
                "backlog": item["decision"]["intent"] if item else None,
            }
            if item is None:
                continue
            budget -= 1
            config = {**item["decision"], "proposal_id": proposal_id, "decision": "accept"}
            defs = dg.Definitions.merge(response_cache.defs, dg.Definitions(resources=self.resources))
            result = defs.resolve_job_def("review_intent_proposal").execute_in_process(
                run_config={
                    "ops": {"accepted_intents": {"config": config}, "common_response_cache": {"config": TEAM_ONLY}}
                },
                instance=self.instance,
                raise_on_error=False,
            )
            if result.success:
                self.accepted[item["decision"]["intent"]] = proposal_id
                accepted.append(item["decision"]["intent"])
            else:
                errors += step_errors(result)
        lessons = [
            row
            for row in table_rows(self.data_uri, LEARNED_TABLE)
            if row["status"] not in (APPROVED, REJECTED) and row["id"] not in self.decided_lessons
        ]
        lessons.sort(key=lambda row: (-row["users"], row["id"]))
        approve: list[str] = []
        reject: list[str] = []
        for row in lessons[: max(0, budget)]:
            text = f"{row.get('insight', '')} {row.get('guidance', '')}".casefold()
            (reject if any(word in text for word in self.backlog["reject_words"]) else approve).append(row["id"])
            self.decided_lessons.add(row["id"])
        if approve or reject:
            defs = dg.Definitions.merge(nightly.defs, dg.Definitions(resources=self.resources))
            result = defs.resolve_job_def("review_learned_insights").execute_in_process(
                run_config={"ops": {"learned_insights": {"config": {"approve": approve, "reject": reject}}}},
                instance=self.instance,
                raise_on_error=False,
            )
            if result.success:
                approved, rejected = len(approve), len(reject)
            else:
                errors += step_errors(result)
        for error in errors:
            log.warning("analyst launch failed: %s", error)
        return {
            "intents_accepted": accepted,
            "lessons_approved": approved,
            "lessons_rejected": rejected,
            "errors": errors,
            "proposals": proposals,
        }

    # --- measuring -----------------------------------------------------------------------------------------------

    def row(self, index, date_key, visitors, day: DayLog, before, after, markers, night, analyst) -> dict:
        turns = day.turns
        rated = [t for t in turns if t.rating]
        down = lambda ts: round(sum(t.rating == "down" for t in ts) / len(ts), 3) if ts else None  # noqa: E731
        share = lambda n, d: round(n / d, 3) if d else None  # noqa: E731
        questions = [t for t in turns if t.kind != "greeting"]
        cached = [t for t in questions if t.source == "cache"]
        all_claude = sum(t.source == "claude" for t in turns) + sum(
            a["source"] == "claude" for a in day.adversary_replies
        )
        spent = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after}
        prompt_tokens = spent.get("input", 0) + spent.get("cache_read", 0) + spent.get("cache_write", 0)
        returning = [t for t in turns if t.returning]
        totals = sorted(t.total_ms for t in turns)
        withheld = withheld_rows(self.data_uri)
        row = {
            "day": index,
            "date": date_key,
            "users": len(visitors),
            "replies": len(turns),
            "rated": len(rated),
            "down_share": down(rated),
            **{f"down_share_{lang}": down([t for t in rated if t.language == lang]) for lang in ("en", "it", "id")},
            "cache_share": share(len(cached), len(questions)),
            "cache_wrong": sum(t.cache_wrong for t in questions),
            "cache_wrong_share": share(sum(t.cache_wrong for t in cached), len(cached)),
            "in_language_share": share(sum(t.in_language for t in turns), len(turns)),
            "claude_replies": all_claude,
            "claude_prompt_tokens_per_reply": round(prompt_tokens / all_claude) if all_claude else None,
            "claude_cost_per_reply_usd": round(spent.get("cost", 0.0) / all_claude, 6) if all_claude else None,
            "turn_p50_ms": round(statistics.median(totals), 1) if totals else None,
            "turn_p99_ms": round(totals[min(len(totals) - 1, int(0.99 * len(totals)))], 1) if totals else None,
            "returning_replies": len(returning),
            "memory_right_share": share(sum(t.uses_right for t in returning), len(returning)),
            "memory_wrong_share": share(sum(t.uses_wrong for t in returning), len(returning)),
            "markers_served": markers + sum(t.markers for t in turns),
            "withheld_items": len(withheld),
            "withheld_curated": sum(row["team_written"] for row in withheld),
            "curated_for_review": night["needs_review"],
            "intents_accepted": len(self.accepted),
            "lessons_approved": analyst["lessons_approved"],
            "lessons_rejected": analyst["lessons_rejected"],
            "proposals": night["proposals"],
            "findings_kept": night["findings_kept"],
            "analysed": night["analysed"],
            "night_s": round(night["enrichment_s"] + night["nightly_s"], 1),
        }
        assert list(row) == COLUMNS, "the table's columns and the row disagree"
        by_kind: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for t in rated:
            by_kind[t.kind][f"{t.source}_{t.rating}"] += 1
        self.details.append(
            {
                "day": index,
                "ratings_by_kind": {kind: dict(counts) for kind, counts in sorted(by_kind.items())},
                "sources": dict(Counter(t.source for t in turns)),
                "claude_spent": spent,
                "night": night,
                "analyst": analyst,
                "turns": [asdict(t) for t in turns] if self.args.turns else [],
            }
        )
        log.info("day %d: %s", index, json.dumps(row))
        return row


# --- HTTP -------------------------------------------------------------------------------------------------------


def auth(tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[tenant]}"}


def chat(client: httpx.Client, tenant: str, user_id: str, message: str, conversation: str | None) -> dict:
    body = {"user_id": user_id, "message": message}
    if conversation:
        body["conversation_id"] = conversation
    response = client.post("/v1/chat", json=body, headers=auth(tenant))
    response.raise_for_status()
    return response.json()


def rate(client, tenant: str, user_id: str, message_id: str, rating: str, comment: str | None = None) -> None:
    body = {"user_id": user_id, "rating": rating} | ({"comment": comment} if comment else {})
    client.post(f"/v1/messages/{message_id}/feedback", json=body, headers=auth(tenant)).raise_for_status()


def end(client, tenant: str, conversation: str | None) -> None:
    if conversation:
        client.post(f"/v1/conversations/{conversation}/end", headers=auth(tenant)).raise_for_status()


_METRIC = re.compile(r"^jiwa_claude_(tokens_total|cost_usd_total)\{([^}]*)\}\s+([0-9.eE+-]+)$")


def claude_counters(client: httpx.Client) -> dict[str, float]:
    """Claude's tokens by kind and the estimated cost so far, summed over models, from /metrics."""
    counters: defaultdict[str, float] = defaultdict(float)
    for line in client.get("/metrics").text.splitlines():
        match = _METRIC.match(line)
        if not match:
            continue
        name, labels, value = match.groups()
        kind = re.search(r'kind="([^"]+)"', labels)
        counters["cost" if name == "cost_usd_total" else kind.group(1) if kind else name] += float(value)
    return dict(counters)


def without(text: str, phrases) -> str:
    for phrase in phrases:
        text = re.sub(re.escape(phrase), " ", text, flags=re.IGNORECASE)
    return text


def data_without_memory(data: str) -> str:
    """A request's data block without the user's own memory (an attacker's memory holds their own words)."""
    return re.sub(r"<user_memory>.*?</user_memory>", "", data, flags=re.DOTALL)


def table_rows(data_uri: str, table: str) -> list[dict]:
    import warnings

    warnings.filterwarnings("ignore", message="table_names", category=DeprecationWarning)
    db = lancedb.connect(data_uri)
    return db.open_table(table).to_arrow().to_pylist() if table in db.table_names() else []


def withheld_rows(data_uri: str) -> list[dict]:
    return [row for row in table_rows(data_uri, FEEDBACK_TABLE) if row["withheld"]]


# --- the run ------------------------------------------------------------------------------------------------------


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
        "accepted_intents": week.accepted,
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
