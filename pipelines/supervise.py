"""Run several long-lived commands together and stop all of them, and everything they started, on one Ctrl-C.

`make run` starts the chat server, the run queuer and `dagster dev` through this. Each command gets a process group
of its own, so a signal reaches every process it spawned (the Dagster webserver, daemon and code servers). On
SIGINT or SIGTERM every group gets SIGTERM, then SIGKILL after the grace period. A command that exits (the run
queuer, once it has queued) is logged; the others go on until the signal, or until all have exited.

    python -m pipelines.supervise [--grace-s 10] -- CMD1 ARGS ... -- CMD2 ARGS ...
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time

log = logging.getLogger("jiwa.supervise")


def split_commands(argv: list[str]) -> list[list[str]]:
    commands: list[list[str]] = []
    current: list[str] = []
    for arg in argv:
        if arg == "--":
            if current:
                commands.append(current)
            current = []
        else:
            current.append(arg)
    if current:
        commands.append(current)
    return commands


def _signal_groups(processes: list[subprocess.Popen], sig: int) -> None:
    for process in processes:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass


def _groups_alive(processes: list[subprocess.Popen]) -> bool:
    alive = False
    for process in processes:
        process.poll()
        try:
            os.killpg(process.pid, 0)
            alive = True
        except ProcessLookupError:
            pass
    return alive


def supervise(commands: list[list[str]], grace_s: float) -> int:
    stopping = False

    def stop(signum, _frame) -> None:
        nonlocal stopping
        if not stopping:
            log.info("%s: stopping everything", signal.Signals(signum).name)
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    processes: list[subprocess.Popen] = []
    reported: set[int] = set()
    try:
        # Inside the try: if a later command cannot start, the ones already started are stopped too.
        for command in commands:
            processes.append(subprocess.Popen(command, start_new_session=True))
        while not stopping:
            for command, process in zip(commands, processes, strict=True):
                if process.poll() is not None and process.pid not in reported:
                    reported.add(process.pid)
                    log.info("%s exited with %s", " ".join(command[:3]), process.returncode)
            if len(reported) == len(processes):
                break
            time.sleep(0.2)
    finally:
        _signal_groups(processes, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while _groups_alive(processes) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _groups_alive(processes):
            log.warning("still running after %.0f s: killing", grace_s)
            _signal_groups(processes, signal.SIGKILL)
        for process in processes:
            process.wait()
    return 0 if stopping else max((p.returncode or 0) for p in processes)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grace-s", type=float, default=10.0, help="Wait before SIGKILL after SIGTERM.")
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    commands = split_commands(argv[split:])
    if not commands:
        parser.error("give at least one command after --")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    return supervise(commands, args.grace_s)


if __name__ == "__main__":
    sys.exit(main())
