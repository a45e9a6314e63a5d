"""The team's attack corpus through the whole learning loop, with a fake LLAMA that copies the attacker's words
verbatim into its finding (the worst case), every candidate approved, and one user enough to earn a lesson: no
attempt may reach a served insight or cached answer of any tenant, and every drop is counted by reason."""

from tests.support.attack_loop import ATTEMPTS, attack_loop, describe, yesterday_clock
from tests.support.fakes import FakeLlamaResource


async def test_no_attempt_reaches_anything_served_even_when_the_model_copies_it_verbatim(claude, data_uri, monkeypatch):
    day = yesterday_clock(monkeypatch)
    llama = FakeLlamaResource(copies_users=True, max_retries=0)
    report = await attack_loop(claude.url, data_uri, llama, ATTEMPTS, day)
    print(describe(report))
    assert len(ATTEMPTS) >= 30 and {a["language"] for a in ATTEMPTS} == {"en", "it", "id"}
    assert report.conversations == len(ATTEMPTS)
    # Every attempt was written down by the model, and every one was dropped for a reason.
    assert report.accounted(ATTEMPTS) and report.kept == 0 and report.candidates == 0, describe(report)
    assert report.served_texts  # retrieval and the cache did serve: the team's base, for both tenants
    assert report.leaked(ATTEMPTS) == []
