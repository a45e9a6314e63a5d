"""Every intent in the team's catalogue, with the real matcher and embedder: its seeds are recognised, its near
misses are left to the responder, and its answers read right, facts filled, in every language."""

import random
import re

import numpy as np
import pytest
import yaml

from jiwa.catalogue.intents import FACTS_PATH, INTENTS_PATH, Fact, fact_problems, fill_facts, load_facts, load_intents
from jiwa.catalogue.matching import IntentMatcher, TermFinder
from jiwa.catalogue.topics import TOPICS_PATH, load_catalogue
from jiwa.catalogue.typos import EXACT_ONLY, one_edit
from jiwa.domain.answers import PLACEHOLDER
from jiwa.domain.language import LANGUAGES
from jiwa.settings import KnowledgeSettings
from jiwa.team_yaml import load_team_yaml

CATALOGUE = load_intents()
FACTS = load_facts()


@pytest.fixture(scope="module")
def seeds(embedder):
    phrasings = [
        (name, lang, text)
        for name, intent in sorted(CATALOGUE.intents.items())
        for lang, texts in intent.phrasings.items()
        for text in texts
    ]
    return phrasings, embedder.embed([text for *_, text in phrasings])


@pytest.fixture(scope="module")
def matcher(seeds):
    phrasings, vectors = seeds
    spec = CATALOGUE.spec(KnowledgeSettings().cache_min_similarity)
    return IntentMatcher(spec, [name for name, *_ in phrasings], vectors)


def test_the_catalogue_covers_the_common_questions():
    assert len(CATALOGUE.intents) >= 89
    for name, intent in CATALOGUE.intents.items():
        for lang in LANGUAGES:
            assert len(intent.phrasings[lang]) >= 3, (name, lang)
            assert len(intent.near_misses.get(lang, ())) >= 2, (name, lang)


def test_every_seed_is_recognised_as_its_intent(seeds, matcher):
    phrasings, vectors = seeds
    wrong = [
        (name, text, result.intent, result.reason)
        for (name, _, text), vector in zip(phrasings, vectors, strict=True)
        if (result := matcher.match(text, vector)).intent != name
    ]
    assert not wrong


def test_every_seed_is_close_to_the_other_seeds_of_its_intent(seeds, matcher):
    """A seed matched only by itself says nothing about paraphrases: each must pass the meaning gate without it."""
    phrasings, vectors = seeds
    names = np.asarray([name for name, *_ in phrasings])
    lonely = []
    for index, ((name, lang, text), vector) in enumerate(zip(phrasings, vectors, strict=True)):
        others = (names == name) & (np.arange(len(names)) != index)
        best = float(np.max(vectors[others] @ vector))
        if best < matcher.spec.min_similarity:
            lonely.append((name, lang, text, round(best, 2)))
    assert not lonely


def test_no_near_miss_is_served(embedder, matcher):
    cases = [
        (name, text)
        for name, intent in sorted(CATALOGUE.intents.items())
        for texts in intent.near_misses.values()
        for text in texts
    ]
    vectors = embedder.embed([text for _, text in cases])
    served = [
        (name, text, result.intent)
        for (name, text), vector in zip(cases, vectors, strict=True)
        if (result := matcher.match(text, vector)).intent is not None
    ]
    assert not served


def test_every_reference_answer_takes_its_facts_from_the_file():
    problems = {
        (name, lang): fact_problems(intent.reference[lang], FACTS)
        for name, intent in CATALOGUE.intents.items()
        for lang in LANGUAGES
    }
    assert not {key: found for key, found in problems.items() if found}


@pytest.mark.parametrize(
    ("message", "not_this"),
    [
        ("quando finisce il KITAS serve un permesso di uscita?", "cost"),
        ("quando il KITAS?", "cost"),  # nor is "quanto" mistyped as "quando" read back as a price
        ("when is the KITAS done", "cost"),
        ("kapan kitas jadi", "cost"),
        ("bisa jadi pemegang saham tunggal pt pma?", "stay"),
        ("kapan batas lapor spt", "ending"),
        # Another word one letter away is not a typo: the first letter differs, or the letter is far on the keyboard.
        ("che ansia, domani ho l'appuntamento per le impronte del kitas", "retirement"),  # not "lansia"
        ("dove si mangia una pizza decente a canggu?", "tipping"),  # not "mancia"
    ],
)
def test_a_question_word_is_never_read_as_a_typo_of_another(message, not_this):
    assert not_this not in TermFinder(CATALOGUE.terms).groups(message)


def test_exact_only_words_match_exactly_and_other_typos_are_still_forgiven():
    finder = TermFinder(CATALOGUE.terms)
    assert {"quando", "quanto", "kapan", "berapa", "when"} <= EXACT_ONLY
    assert "cost" in finder.groups("quanto costa il kitas")
    assert "kitas" in finder.groups("whats the fee for a kittas")


@pytest.mark.parametrize(
    ("word", "term"),
    [("kittas", "kitas"), ("kitsa", "kitas"), ("kitaa", "kitas"), ("rinnova", "rinnovo"), ("citta", "città")],
)
def test_a_slip_of_the_fingers_or_another_ending_is_forgiven(word, term):
    assert one_edit(word, term)


@pytest.mark.parametrize(("word", "term"), [("ansia", "lansia"), ("mangia", "mancia"), ("kitam", "kitas")])
def test_a_word_differing_in_its_first_letter_or_by_a_distant_key_is_not_a_typo(word, term):
    assert not one_edit(word, term)


def test_the_typo_index_finds_what_comparing_with_every_term_finds():
    """The finder looks typos up by shared deletions; a word one edit from a term must be found just as a scan of
    every term would find it, and a word two edits away must not."""
    finder = TermFinder(CATALOGUE.terms)
    rng = random.Random(7)
    words = []
    for term in [t for t in finder._group_of if " " not in t and len(t) >= 5 and t not in EXACT_ONLY]:
        i = rng.randrange(len(term) - 1)
        words += [
            term[:i] + "x" + term[i + 1 :],  # substitution
            term[:i] + "q" + term[i:],  # insertion
            term[:i] + term[i + 1 :],  # deletion
            term[:i] + term[i + 1] + term[i] + term[i + 2 :],  # adjacent swap
            term[1:] + term[0],  # a rotation: two edits
        ]

    fuzzy_terms = {t: g for t, g in finder._group_of.items() if " " not in t and len(t) >= 4 and t not in EXACT_ONLY}

    def scanned(word: str) -> str | None:
        close = {group for term, group in fuzzy_terms.items() if one_edit(word, term)}
        return close.pop() if len(close) == 1 else None

    assert [finder._fuzzy_group(w) for w in words] == [scanned(w) for w in words]
    assert finder._fuzzy_group("kitsa") == "kitas" and finder._fuzzy_group("aitsk") is None


def test_the_exit_permit_question_gets_the_exit_permit_answer(embedder, matcher):
    message = "quando finisce il KITAS serve un permesso di uscita?"
    assert matcher.match(message, embedder.embed([message])[0]).intent == "exit_permit_epo"


@pytest.mark.parametrize(
    "message",
    [
        # Closing the KITAS for a trip is the re-entry answer's question, not the EPO's; the embedder does not tell
        # "for good" from "for two months" well enough to let closing the KITAS name the EPO.
        "devo chiudere il kitas se vado in Italia per due mesi?",
        "should I close my kitas if I leave for a few months?",
        "perlu tutup kitas kalau pulang ke negara saya 2 bulan?",
    ],
)
def test_closing_the_kitas_for_a_trip_is_not_the_exit_permit_answer(embedder, matcher, message):
    assert matcher.match(message, embedder.embed([message])[0]).intent is None


@pytest.mark.parametrize(
    "message, intent",
    [
        ("ok grazie ciao", "farewell"),  # ciao after thanks says goodbye
        ("ok grazie, ciao", "farewell"),
        ("ciao", "greeting"),
        ("grazie mille", "thanks"),
        # Not a goodbye yet: announcing more to ask is a group no answer allows.
        ("grazie ciao, ancora una domanda", None),
        ("thanks bye, oh wait, one more thing", None),
        ("makasih dadah, eh tunggu, satu lagi", None),
    ],
)
def test_ciao_after_thanks_is_a_goodbye(embedder, matcher, message, intent):
    assert matcher.match(message, embedder.embed([message])[0]).intent == intent


# How a free or zero fact must not read once filled in: "it costs nothing: free", and Italian without its "non".
_UNNATURAL = {
    "en": re.compile(r"\bcosts? (nothing|free|zero)\b|\bcosts? is free\b"),
    "it": re.compile(r"(?<!non )\bcost(a|ano) (nulla|niente|gratis|gratuit)|\bcost(a|ano) è\b"),
    "id": re.compile(r"\b(biaya|harga)(nya)? (gratis|nol|tidak ada)\b"),
}
_COST_VERB_BEFORE = {
    "en": re.compile(r"\bcosts?\s*$"),
    "it": re.compile(r"\bcost(a|ano)\s*$"),
    "id": re.compile(r"\b(biaya|harga)(nya)?\s*$"),
}


def _free_facts() -> set[str]:
    return {
        key
        for key, fact in FACTS.facts.items()
        if re.search(r"\b(free|nothing|no charge)\b", fact.render("en")) and not re.search(r"\d", fact.render("en"))
    }


def test_free_facts_read_naturally_in_every_language():
    free = _free_facts()
    assert {"nib_cost", "npwp_cost"} <= free
    for name, intent in CATALOGUE.intents.items():
        for lang in LANGUAGES:
            template = intent.reference[lang]
            for key in free:
                for placed in re.finditer(rf"\{{{key}\}}", template):
                    assert not _COST_VERB_BEFORE[lang].search(template[: placed.start()]), (name, lang, key)
            filled = fill_facts(template, FACTS, lang)
            assert not _UNNATURAL[lang].search(filled), (name, lang, filled)


def test_free_answers_read_as_the_team_means_them():
    assert "Getting it is free on OSS" in fill_facts(CATALOGUE.intents["nib_oss"].reference["en"], FACTS, "en")
    assert "La registrazione è gratuita" in fill_facts(CATALOGUE.intents["npwp_tax_id"].reference["it"], FACTS, "it")
    assert "Pendaftarannya gratis" in fill_facts(CATALOGUE.intents["npwp_tax_id"].reference["id"], FACTS, "id")


def test_every_fact_says_when_to_review_it():
    late = [key for key, fact in FACTS.facts.items() if fact.review_by is None or fact.review_by <= fact.as_of]
    assert not late


def test_a_term_in_two_groups_is_refused():
    terms = {**CATALOGUE.terms, "cost": (*CATALOGUE.terms["cost"], "kitas")}
    with pytest.raises(ValueError, match="more than one group"):
        CATALOGUE.model_validate({**CATALOGUE.model_dump(), "terms": terms})


def test_a_neutral_group_without_terms_is_refused():
    with pytest.raises(ValueError, match=r"neutral groups \['farewells'\] are not defined"):
        CATALOGUE.model_validate({**CATALOGUE.model_dump(), "neutral": (*CATALOGUE.neutral, "farewells")})


def test_a_number_written_once_reads_as_each_language_writes_it():
    cost = FACTS.facts["kitas_work_cost"]
    assert cost.render("en").startswith("1,200–1,800 USD")
    assert cost.render("it").startswith("1.200–1.800 USD")
    assert cost.render("id").startswith("1.200–1.800 USD")
    share = cost.model_copy(update={"value": "2.5", "unit": "%"})
    assert [share.render(lang) for lang in LANGUAGES] == ["2.5 %", "2,5 %", "2,5 %"]


def test_a_value_with_words_is_written_per_language():
    with pytest.raises(ValueError, match="write it per language"):
        Fact.model_validate({**FACTS.facts["kitap_validity"].model_dump(), "value": "5 or 10"})


def _phrases(text: str) -> set[str]:
    """Three words in a row, or two long ones: what reads as said twice when it comes back in one clause."""
    words = re.findall(r"[^\W\d_]+", text.lower())
    three = {" ".join(words[k : k + 3]) for k in range(len(words) - 2)}
    return three | {" ".join(pair) for k in range(len(words) - 1) if min(map(len, pair := words[k : k + 2])) >= 4}


def test_an_answer_does_not_say_again_what_its_fact_says():
    # "Through an agent it's usually {kitas_work_cost}" read "Through an agent it's usually 1,200–1,800 USD for one
    # year through an agent": the fact's unit already says how, for whom and per what.
    repeated = {}
    for name, intent in CATALOGUE.intents.items():
        for lang in LANGUAGES:
            for clause in re.split(r"[.;:!?](?:\s|$)", intent.reference[lang]):
                own = _phrases(PLACEHOLDER.sub(" | ", clause))
                for key in PLACEHOLDER.findall(clause):
                    unit = FACTS.facts[key].unit if key in FACTS.facts else ""
                    unit = unit[lang] if isinstance(unit, dict) else unit
                    if own & _phrases(unit):
                        repeated[name, lang, key] = sorted(own & _phrases(unit))
    assert not repeated


@pytest.mark.parametrize(
    ("load", "path", "section", "doubled", "key"),
    [
        (load_facts, FACTS_PATH, "facts:\n", "facts:\n  kitas_validity: {}\n", "kitas_validity"),
        (load_intents, INTENTS_PATH, "intents:\n", "intents:\n  greeting: {}\n", "greeting"),
        (load_catalogue, TOPICS_PATH, "facets:\n", "topics: []\nfacets:\n", "topics"),
    ],
)
def test_a_key_written_twice_is_refused_not_silently_replaced(tmp_path, load, path, section, doubled, key):
    # PyYAML keeps the second of two equal keys: a fact added under a name the file already had replaced the first.
    copy = tmp_path / path.name
    copy.write_text(path.read_text(encoding="utf-8").replace(section, doubled, 1))
    with pytest.raises(yaml.YAMLError, match=rf"key '{key}' is written twice \(lines \d+ and \d+\)"):
        load(copy)


def test_keys_merged_from_an_anchor_may_be_overridden_and_an_unhashable_key_is_a_yaml_error():
    assert load_team_yaml("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n")["other"] == {"x": 1, "y": 3}
    with pytest.raises(yaml.YAMLError, match="unhashable"):
        load_team_yaml("? [a, b]\n: 1\n")
