"""Cache coverage on the realistic questions, written without the catalogue and labelled by the team with the intents
whose reference answer answers each one: the labels name real intents, and what the cache serves is right."""

import pytest

from bench.cache_coverage import QUESTION_SETS, coverage, load_questions, summarise, unknown_intents
from jiwa.domain.language import LANGUAGES
from tests.support.server import FACTS_CHECKED_ON


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return load_questions()


@pytest.fixture(scope="module")
def report(questions, embedder, tmp_path_factory) -> dict:
    # On a day every fact is within review, so the figures do not depend on the day the test runs.
    stores = str(tmp_path_factory.mktemp("coverage") / "stores")
    return summarise(coverage(questions, embedder, stores, review_date=FACTS_CHECKED_ON))


def test_every_question_is_labelled_with_intents_the_catalogue_has(questions):
    assert len(questions) == 330
    assert {q["language"] for q in questions} == set(LANGUAGES)
    assert all(isinstance(q["answered_by"], list) for q in questions)
    assert not unknown_intents(questions)
    assert len({q["id"] for q in questions}) == len(questions)
    assert len(load_questions(smoke=True)) == 10 * len(LANGUAGES)  # what bench.cache_coverage --smoke runs


def test_the_coverage_report_counts_every_question(report):
    assert report["all"]["questions"] == 330
    assert sum(row["questions"] for row in report["by_language"].values()) == 330
    assert report["all"]["served"] > 0


# Issue 19 asks for at least 50% served in each language with at most 1% of them wrong; the team's catalogue is not
# there yet (python -m bench.cache_coverage --on <a day within review>): 119 of 330 served (36%), none of them wrong,
# and 218 of the 330 questions (66%) have an intent that answers them; 126 (38%), none wrong, after the synonyms,
# informal spellings and optional groups that reading both sets' misses led to; 146 (44%), none wrong, after 13 intents
# for the questions both sets asked most that none answered; 134 (41%), none wrong, once the words gate leaves what
# the answer does not cover to the responder, and 138 (42%) once numbers and a few generic verbs in Italian and
# Indonesian count as every intent's words; 143 (43%) with 10 intents for the themes the three sets asked most that
# none answered, 146 (44%) once a short question naming no topic asks on about the one before it, and 150 (45%)
# with synonyms, optional groups and chat words from the three sets' misses; 154 (47%) with chat words read from the
# six sets' refusals and rules for the KITAP's years, Nyepi's airport and "C1", and 159 (48%) once a short question
# that no rule places on its own, whatever it names, asks on about the one before it; 163 (49%; en 51%, it 47%, id
# 50%) with a few more chat words ("pago", "annuale", "nome", "negara"), a licence from home as the IDP answer's
# question and a phone that no longer takes a local SIM as the IMEI answers'; 173 (52%; en 55%, it 50%, id 53%) with
# a team phrasing per language for questions whose answers already said it but whose words sat closer to another
# intent's near miss (an NPWP for a bank account, a temple during one's period, the retirement age, a KITAS and a new
# sponsor, the two BPJS, extending a VOA online or twice). A second reading then found that joining any short
# question no rule places let "cos'è il KITAS? quanto costa?" be served the price answer alone, and that some new
# chat words explained topic words by their first five letters. A narrower join (only aspects of the same intent) was
# still read wrongly by a second reading: an intent's rules allowing a group does not mean its answer says it
# ("posso cambiare sponsor? quanto costa?" got the sponsor answer, which gives no price). So a short question joins
# the one before only when it names no group, as before, and those chat words are left out: 168 (51%; en 55%, it
# 48%, id 50%). This is the set the catalogue was fitted to: on the sets written after it (below) far less is
# served. These bounds keep what is reached from sliding back.
def test_what_the_cache_serves_does_not_slide_back(report):
    assert report["all"]["wrong"] == 0, report["wrong"]
    assert report["all"]["served_share"] >= 0.50
    assert report["all"]["wrong_language"] == 0


# Sets 2 and 3 were written without the catalogue and labelled afterwards against its reference answers.
#
# Set 2: 86 served with 15 wrong when first measured, 81 with 9 wrong after the typo rule and the difference and
# preference groups that reading those answers led to, 97 with 8 wrong after the synonyms, informal spellings and
# optional groups that reading both sets' misses led to, 110 with 5 wrong after 13 intents for the questions both sets
# asked most that none answered, 87 with none wrong after the words gate (a message's words must be ones the answer
# covers), 89 once numbers and a few generic verbs count as every intent's words.
#
# Set 3, the one the catalogue has not been fitted to: 51 served with 14 wrong when first measured, 30 with 3 wrong
# after the words gate, whose rule was chosen on the first two sets with this one held out, 29 with 2 wrong with the
# 13 intents written from the first two sets' misses, and 32 with 2 wrong once numbers and a few generic verbs (found
# in the first two sets' misses) count as every intent's words. Its misses were then read with those of sets 1 and 2
# to choose 10 more intents: 36 served, 1 wrong, with none more or fewer once a short question naming no topic asks
# on about the one before it (set 2: 96 then 100, none wrong). Synonyms, optional groups and chat words chosen from
# the three sets' misses then bring set 2 to 108 and set 3 to 45, still 0 and 1 wrong.
#
# Set 4, written and labelled after all that, is the one the catalogue has not been fitted to: 33 served with 5 wrong
# when first measured (89 intents), 31 with 3 wrong once a follow-up that asks what was meant leans on the
# conversation, and 38 with 3 wrong with the 10 intents and the short questions above; then 37 with 2 wrong once
# asking which hospital, clinic, school, agent or insurer to go to names the preference group (a rule set 1's and 3's
# bank and hospital questions suggested, but chosen after one of set 4's wrong answers had been read), and 40 with 2
# wrong with those synonyms, optional groups and chat words.
#
# Set 4's misses were then read with those of sets 1 to 3 to choose 5 intents for the themes the four sets asked most
# that none answered (rabies, the head and the left hand, traffic fines, the seasons, Balinese names; bringing a pet
# and tap water are left to the analyst's flow, where bench.week accepts them), labelled on the four sets by a helper
# reading only their reference answers; "how are you" became part of a greeting, and animals and vaccinations in
# general groups the rabies answer does not allow. Sets 1 and 2 stay at 150 and 108, set 3 goes to 47 and set 4 to
# 51, with 0, 0, 1 and 2 wrong.
#
# Set 5, written and labelled (by three helpers, one a language, reading the reference answers) after that round, is
# the one the catalogue has not been fitted to: 30 served with 5 wrong on the 99 intents before the round, 31 with 5
# wrong after it. Its wrong answers ask a detail in the intent's own words (which nationalities get an e-VOA, a
# deposit of six months, which hospital takes an insurance), which the three gates do not tell from a right hit.
# Reading them led to three rules: asking whether something is normal (`normal`) or who is eligible (`eligibility`)
# names a group only answers that give a norm or a rule allow, and "RS" is a hospital; with "om swastiastu" a
# greeting, set 5 is at 28 served with 1 wrong (the other four wrong ones left to Claude, no right one lost), and
# sets 1 to 4 do not move. Set 5 is no longer quite unseen for those rules.
#
# Set 6, written (by a helper who read no file) and labelled (by three helpers reading only the reference answers)
# with the catalogue unchanged since set 5's rules: 46 served with 5 wrong on first measure. One of them answered a
# feast's wishes ("selamat hari raya galungan ya kak!") with the feast's explanation; wishes are now a group no answer
# allows, and set 6 is at 45 served with 4 wrong, the other sets unmoved. The four left are details the answer does not
# give (where the licensing office is, which bank, how much a phone's duty came to, whether a sum is the real fine).
# Reading its misses then added chat words every intent has (Italian "per forza", "ottenere", "rifare", "grave",
# "rimasto", "rupie"; Indonesian "bawa", "pulang", "diundang", "pindahan"; "Ngurah Rai"): set 6 at 53 with the same
# 4 wrong, set 5 at 29. "locali" was tried and left out: as a typo of "local" it let a wrong answer through in set 3.
#
# Then the words gate's refusals over all six sets gave chat words every answer has (English "honestly", "via";
# Italian "vivo", "tramite"; Indonesian "abis", "langsung"; Italian pay verbs were tried and left out: two wrong
# answers in set 5), greetings and goodbyes alone found their language ("buonasera", "cheers mate"), and the KITAP's
# "after how many years", Nyepi's airport and "C1" got rules: sets 2 to 6 at 112/48/56/35/57, wrong 0/1/2/1/4. A short
# question that no rule places on its own then asks on about the one before it, whatever it names ("LKPM cos'è? ogni
# quanto va fatto?"), and the intent's rules say whether the answer allows it: 116/48/59/35/58, none more wrong; let
# up to 6 or 8 words, set 3 got a wrong answer ("posso essere io tutti e due?"), so it stays at 4. The chat words and
# licence and phone rules above: 118/49/60/36/58. "Difference between KITAS and KITAP" as the KITAP answer's question
# was tried and left out: set 1's labellers said that answer gives it, set 4's did not. The team phrasings above:
# 121/49/61/37/60, none more wrong. Then synonyms from the term rules' refusals of sets 2 to 6 (the formal "exit
# re-entry permit", "docs", a period during a temple visit, photos at a ceremony, the "little baskets" on the ground,
# "decorated bamboo", "mi sento un po' sola"): 122/49/64/38/63, none more wrong. "Bamboo poles" was tried and left
# out: "polres" became a typo of it, so the police station turned the licence answer away; "local sim" took the
# "SIM" of "a local SIM C" (a licence) for a phone card. Optional groups the answers cover (the C1 answer's difference
# from the B211A, BPJS a month, the dependent KITAS under an investor KITAS): 123/49/64/39/65. A KITAS in the NPWP
# answer's question was left out: two wrong answers (whether a KITAS holder must have an NPWP). After the second
# reading's fixes (a short question joined to the one before only when it names no group, as before this round;
# "pago", "proper", "partecipare", "annuale", "says", "sendiri", "SIM luar negeri", "cestini" and "stopped getting
# signal", "sentito" left out; `years` allowed by the answers that give years): 118/48/59/38/64, wrong 0/1/2/1/4.
LATER_SETS = {  # the served share kept, and the most wrong allowed
    "2": (0.35, 0),
    "3": (0.14, 1),
    "4": (0.17, 2),
    "5": (0.11, 1),
    "6": (0.19, 4),
}


@pytest.mark.parametrize("name", sorted(LATER_SETS))
def test_a_later_set_is_labelled_with_intents_the_catalogue_has(name):
    questions = load_questions(QUESTION_SETS[name])
    assert len(questions) == 330 and len({q["id"] for q in questions}) == 330
    assert {q["language"] for q in questions} == set(LANGUAGES)
    assert not unknown_intents(questions)


@pytest.mark.parametrize("name", sorted(LATER_SETS))
def test_on_a_later_set_the_cache_does_not_slide_back(name, embedder, tmp_path_factory):
    served_share, most_wrong = LATER_SETS[name]
    stores = str(tmp_path_factory.mktemp(f"coverage{name}") / "stores")
    report = summarise(coverage(load_questions(QUESTION_SETS[name]), embedder, stores, review_date=FACTS_CHECKED_ON))
    assert report["all"]["served_share"] >= served_share
    assert report["all"]["wrong"] <= most_wrong, report["wrong"]
    assert report["all"]["wrong_language"] == 0
