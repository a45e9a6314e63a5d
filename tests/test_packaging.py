"""A built wheel carries what Jiwa reads at run time: the prompts and every team catalogue, found from outside the
checkout."""

import subprocess
import sys
import zipfile

import pytest

from jiwa.paths import PROJECT_ROOT

READS_EVERY_FILE = """
import jiwa
from jiwa.catalogue.curated import load_curated
from jiwa.catalogue.intents import load_facts, load_intents
from jiwa.catalogue.markers import load_lexicon
from jiwa.catalogue.topics import load_catalogue
from jiwa.prompts import PROMPTS_DIR, load_prompt

assert jiwa.__file__.startswith({root!r}), jiwa.__file__
for path in sorted(PROMPTS_DIR.glob("*.yaml")):
    load_prompt(path.stem)
topics = load_catalogue()
curated = sum(map(len, load_curated(topics).by_topic.values()))
print(len(topics.topics), curated, len(load_intents().intents), len(load_facts().facts), len(load_lexicon().categories))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> str:
    """The wheel `pip wheel .` builds, unpacked as pip would install it, away from the checkout."""
    build = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(build), "."],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = build.glob("jiwa-*.whl")
    site = tmp_path_factory.mktemp("site-packages")
    zipfile.ZipFile(wheel).extractall(site)
    return str(site)


def test_an_installed_wheel_finds_the_prompts_and_catalogues(installed, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", READS_EVERY_FILE.format(root=installed)],
        cwd=tmp_path,
        env={"PYTHONPATH": installed, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    topics, curated, intents, facts, markers = map(int, result.stdout.split())
    assert topics >= 60 and curated >= 3 * topics and intents >= 50 and facts >= 50 and markers > 0
