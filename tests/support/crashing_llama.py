"""LLAMA's real worker with the real model, made to die with SIGSEGV where a faulting llama.cpp build does.

    python -m tests.support.crashing_llama probe     dies in the probe generation (a build that cannot run here)
    python -m tests.support.crashing_llama request   passes the probe, dies in its first request (a crash mid-run)

Point jiwa.llm.isolated.WORKER_COMMAND here.
"""

import os
import signal
import sys

from jiwa.llm import worker


def _segfault(*_args) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


if __name__ == "__main__":
    if sys.argv[1:] == ["probe"]:
        worker.probe = _segfault
    elif sys.argv[1:] == ["request"]:
        worker._handle = _segfault
    else:
        sys.exit("usage: python -m tests.support.crashing_llama probe|request")
    sys.exit(worker.main())
