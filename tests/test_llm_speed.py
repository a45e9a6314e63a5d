"""LLAMA's speed work: prefix reuse counted, rates beside the raw decode rate, progress, the server's prompt cache."""

import json
import threading
import time

import dagster as dg
import httpx
import pytest

from assets.enrichment import conversation_analyses
from assets.enrichment.analyses import AnalysesConfig
from jiwa.domain.insights import InsightVerdict
from jiwa.llm import Completion, LlamaServerBackend, LlamaSettings, StructuredLLM
from jiwa.llm.progress import Progress
from jiwa.prompts import load_prompt
from tests.support.fakes import FakeChatBackend
from tests.support.log import conversation, hours_ago, record
from tests.support.server import publish_curated

VERIFY = load_prompt("insight_verification")


def _verify(llm: StructuredLLM, claim: str):
    return llm.generate(
        VERIFY, InsightVerdict, topic="offerings", reference="Canang sari are daily offerings.", claim=claim
    )


def test_stats_count_the_reused_prefix_and_compare_with_the_raw_rate():
    backend = FakeChatBackend()
    llm = StructuredLLM(backend)
    assert llm.measure_raw_rate() == FakeChatBackend.RAW_RATE and backend.raw_probes == 1
    _verify(llm, "Offerings are made every day.")
    _verify(llm, "Offerings are made at temples.")
    stats = llm.stats
    system_tokens = len(VERIFY.system.strip()) // 4
    # The second call shares the system message with the first: only its user message is evaluated.
    assert stats.prompt_tokens_reused == system_tokens
    assert stats.prompt_tokens_evaluated == stats.prompt_tokens - system_tokens
    metadata = stats.rate_metadata()
    assert metadata["raw_tokens_per_s"] == FakeChatBackend.RAW_RATE
    assert metadata["over_raw"] == round(stats.tokens_per_second / FakeChatBackend.RAW_RATE, 3)
    assert metadata["llm_calls"] == 2 and metadata["prompt_tokens_reused"] == system_tokens


def test_a_backend_without_a_raw_probe_reports_no_ratio():
    class Bare:
        model_id = "bare"

        def complete(self, messages, **_):
            return Completion('{"agrees": "yes"}', 10, 5)

    llm = StructuredLLM(Bare())
    assert llm.measure_raw_rate() is None
    _verify(llm, "Offerings are made every day.")
    metadata = llm.stats.rate_metadata()
    assert metadata["over_raw"] is None and metadata["raw_tokens_per_s"] is None
    assert metadata["prompt_tokens_reused"] == 0  # unknown counts as nothing reused


def test_calls_in_flight_together_count_their_wall_time_once():
    class Slow:
        model_id = "slow"

        def complete(self, messages, **_):
            time.sleep(0.3)
            return Completion('{"agrees": "yes"}', 10, 30)

    llm = StructuredLLM(Slow())
    threads = [threading.Thread(target=_verify, args=(llm, f"Offerings number {i}.")) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = llm.stats
    assert stats.seconds >= 1.2 and 0.3 <= stats.busy_seconds < stats.seconds - 0.3
    assert stats.tokens_per_second == pytest.approx(120 / stats.busy_seconds)


def test_progress_logs_counts_rate_and_eta_only():
    lines = []

    class Log:
        def info(self, text):
            lines.append(text)

    llm = StructuredLLM(FakeChatBackend())
    llm.measure_raw_rate()
    progress = Progress(Log(), llm, total=3, label="analyses", every_s=3600)
    _verify(llm, "Offerings are made every day.")
    progress.step()
    progress.step()
    assert lines == []  # within the interval, only the last item is logged
    progress.step()
    assert len(lines) == 1 and lines[0].startswith("analyses 3/3 (")
    assert "/min, ETA 0s" in lines[0] and "tokens/s vs raw 1000.0" in lines[0]


def test_the_server_backend_asks_for_the_prompt_cache_and_keeps_each_thread_on_a_slot():
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if request.url.path == "/v1/completions":
            return httpx.Response(200, json={"usage": {"completion_tokens": body["max_tokens"]}})
        return httpx.Response(
            200,
            json={
                "choices": [{"message": {"content": '{"agrees": "yes"}'}}],
                "usage": {"prompt_tokens": 120, "completion_tokens": 6},
                "timings": {"prompt_n": 20},
            },
        )

    backend = LlamaServerBackend(LlamaSettings(server_url="http://llama.test", concurrency=2))
    backend._client = httpx.Client(base_url="http://llama.test", transport=httpx.MockTransport(handler))
    llm = StructuredLLM(backend)
    for _ in range(2):  # two calls from one thread: the same slot
        _verify(llm, "Offerings are made every day.")
    other = threading.Thread(target=_verify, args=(llm, "Offerings are made at temples."))
    other.start()
    other.join()
    assert all(body["cache_prompt"] is True for body in bodies)
    assert [body["id_slot"] for body in bodies] == [0, 0, 1]
    assert llm.stats.prompt_tokens_evaluated == 60 and llm.stats.prompt_tokens_reused == 300
    assert llm.measure_raw_rate() > 0 and bodies[-1]["max_tokens"] == 64


def test_one_slot_sends_no_slot_id():
    bodies = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"choices": [{"message": {"content": '{"agrees": "no"}'}}], "usage": {}})

    backend = LlamaServerBackend(LlamaSettings(server_url="http://llama.test"))
    backend._client = httpx.Client(base_url="http://llama.test", transport=httpx.MockTransport(handler))
    _verify(StructuredLLM(backend), "Offerings are made every day.")
    assert "id_slot" not in bodies[0] and bodies[0]["cache_prompt"] is True


def test_an_llm_asset_reports_its_rate_beside_the_raw_rate_of_the_same_run(resources, data_uri):
    record(data_uri, conversation("c1", "u1", ["Halo, saya bingung soal KITAS.", "Terima kasih"], start=hours_ago(3)))
    record(data_uri, conversation("c2", "u2", ["Hi, how long does a KITAS take?"], start=hours_ago(3)))
    with dg.build_asset_context(resources=resources) as context:
        result = conversation_analyses(context=context, config=AnalysesConfig())
    metadata = result.metadata
    assert metadata["analysed"] == 2
    assert metadata["raw_tokens_per_s"] == FakeChatBackend.RAW_RATE
    assert metadata["tokens_per_s"] > 0
    assert metadata["over_raw"] == pytest.approx(metadata["tokens_per_s"] / FakeChatBackend.RAW_RATE, rel=0.01)
    assert metadata["llm_calls"] == 2 and metadata["prompt_tokens_reused"] > 0


@pytest.mark.model
@pytest.mark.parametrize("jump_forward", [True, False])
def test_llama_cpp_reuses_the_shared_prefix_and_keeps_to_the_schema(jump_forward):
    from jiwa.llm import IsolatedLlamaBackend

    settings = LlamaSettings(context_size=1024, jump_forward=jump_forward)
    llm = StructuredLLM(IsolatedLlamaBackend(settings), temperature=0.7)
    try:
        first = _verify(llm, "Canang sari are offered every day.")
        prompt_first, evaluated_first = llm.stats.prompt_tokens, llm.stats.prompt_tokens_evaluated
        second = _verify(llm, "Canang sari are offered at home and at temples.")
        stats = llm.stats
    finally:
        llm.close()
    assert first is not None and second is not None  # grammar-first sampling still yields the schema
    assert stats.calls == 2
    if jump_forward:  # the verdict's braces, key and quotes are evaluated in batches; "yes" or "no" is decoded
        assert stats.completion_tokens_batched >= 2 * 4, stats.completion_tokens_batched
    else:
        assert stats.completion_tokens_batched == 0
    prompt_second = stats.prompt_tokens - prompt_first
    evaluated_second = stats.prompt_tokens_evaluated - evaluated_first
    # The second prompt shares the system message and the topic with the first: only the rest is evaluated.
    assert evaluated_second <= prompt_second - 60, (prompt_second, evaluated_second)
    assert stats.prompt_tokens_reused >= 60


@pytest.mark.model
def test_an_output_cut_short_by_its_token_budget_stops_there():
    from jiwa.domain.insights import CulturalInsight
    from jiwa.llm import IsolatedLlamaBackend

    backend = IsolatedLlamaBackend(LlamaSettings(context_size=1024))
    try:
        messages = [{"role": "user", "content": "Write one insight about canang sari offerings, as JSON."}]
        completion = backend.complete(
            messages, json_schema=CulturalInsight.model_json_schema(), max_tokens=6, temperature=0.7, seed=1
        )
    finally:
        backend.close()
    # Six tokens of the insight's text at most, then nothing more: unfinished JSON, which the caller rejects.
    assert completion.completion_tokens_decoded is not None and completion.completion_tokens_decoded <= 6
    assert completion.text.startswith('{"insight": "') and '"guidance"' not in completion.text
    with pytest.raises(json.JSONDecodeError):
        json.loads(completion.text)


def test_the_insights_of_one_topic_share_their_prompt_up_to_the_facet(resources):
    from assets.knowledge import cultural_insights, cultural_topics
    from assets.knowledge.generation import INSIGHT_PROMPT, insight_variables
    from jiwa.catalogue.curated import load_curated
    from jiwa.catalogue.topics import load_catalogue

    catalogue = load_catalogue()
    topic = catalogue.in_category("phrases_emotions")[0]
    curated = load_curated(catalogue)
    users = [
        INSIGHT_PROMPT.render(**insight_variables(topic, catalogue.facets, curated, k))[-1]["content"] for k in range(5)
    ]
    assert len({user.split("Facet:")[0] for user in users}) == 1  # one shared prefix: topic, knowledge, examples
    assert len({user.split("Facet:")[1] for user in users}) == 5  # the facet, last, is all that changes

    publish_curated(resources)
    result = dg.materialize(
        [cultural_topics, cultural_insights],
        resources=resources,
        partition_key="phrases_emotions",
        run_config={"ops": {"cultural_insights": {"config": {"insights_per_topic": 2, "topic_limit": 1}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("cultural_insights")[0].metadata.items()}
    assert metadata["raw_tokens_per_s"] == FakeChatBackend.RAW_RATE and metadata["over_raw"] > 0
    assert metadata["prompt_tokens_reused"] > 0
