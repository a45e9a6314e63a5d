"""`make run` stops everything it started on one Ctrl-C: the supervisor signals every command's process group, and
kills what outlives the grace period, grandchildren included; the real `dagster dev` among them."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from jiwa.paths import PROJECT_ROOT
from tests.support.server import free_port

# Ignores SIGINT and SIGTERM, and starts a grandchild that does the same: only SIGKILL of the group stops them.
STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if len(sys.argv) < 2:
    subprocess.Popen([sys.executable, __file__, "child"])
open(os.environ["PIDS"], "a").write(f"{os.getpid()}\\n")
while True:
    time.sleep(0.1)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for its parent is gone for every purpose here.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def _group(pgid: int) -> list[int]:
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit()
        and (stat := entry / "stat").exists()
        and int(stat.read_text().split(")")[-1].split()[2]) == pgid
        and _alive(int(entry.name))
    ]


def _supervise(*commands: list[str], grace_s: float, env=None) -> subprocess.Popen:
    argv = [sys.executable, "-m", "pipelines.supervise", "--grace-s", str(grace_s)]
    for command in commands:
        argv += ["--", *command]
    return subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, start_new_session=True)


def _wait(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_one_sigint_stops_commands_that_ignore_it_and_their_children(tmp_path):
    script, pids = tmp_path / "stubborn.py", tmp_path / "pids"
    script.write_text(STUBBORN)
    supervisor = _supervise(
        [sys.executable, str(script)], [sys.executable, str(script)], grace_s=1.0, env={**os.environ, "PIDS": str(pids)}
    )
    assert _wait(lambda: pids.exists() and len(pids.read_text().split()) == 4, 20)
    started = [int(pid) for pid in pids.read_text().split()]
    supervisor.send_signal(signal.SIGINT)
    assert supervisor.wait(timeout=20) == 0
    assert _wait(lambda: not any(_alive(pid) for pid in started), 5), [p for p in started if _alive(p)]


def test_one_sigint_stops_dagster_dev_its_webserver_daemon_and_code_server(tmp_path):
    port = free_port()
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "JIWA_DATA_URI": str(tmp_path / "stores")}
    dagster = [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml", "-p", str(port)]
    supervisor = _supervise(dagster, grace_s=15.0, env=env)

    def answering() -> bool:
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=1).status == 200
        except OSError:
            return False

    try:
        assert _wait(answering, 120), "dagster dev did not answer"
        children = _group(next(pid for pid in _group_ids(supervisor.pid)))
        assert len(children) >= 2  # dagster dev and the webserver at least
        supervisor.send_signal(signal.SIGINT)
        assert supervisor.wait(timeout=60) == 0
        assert _wait(lambda: not any(_alive(pid) for pid in children), 5), [p for p in children if _alive(p)]
        assert not answering()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()


def _group_ids(parent: int) -> list[int]:
    """The process groups of the supervisor's children: each command leads a group of its own."""
    groups = []
    for entry in Path("/proc").iterdir():
        stat = entry / "stat"
        if entry.name.isdigit() and stat.exists():
            fields = stat.read_text().split(")")[-1].split()
            if int(fields[1]) == parent:
                groups.append(int(fields[2]))
    return groups


def test_a_command_that_cannot_start_stops_the_ones_already_started(tmp_path):
    script, pids = tmp_path / "stubborn.py", tmp_path / "pids"
    script.write_text(STUBBORN)
    supervisor = _supervise(
        [sys.executable, str(script)],
        [str(tmp_path / "no-such-program")],
        grace_s=1.0,
        env={**os.environ, "PIDS": str(pids)},
    )
    assert supervisor.wait(timeout=30) != 0
    started = [int(pid) for pid in pids.read_text().split()] if pids.exists() else []
    assert _wait(lambda: not any(_alive(pid) for pid in started), 5), [p for p in started if _alive(p)]
