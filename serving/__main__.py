"""`python -m serving`: run the chat server with uvicorn."""

from __future__ import annotations

import logging
import sys

import uvicorn

from jiwa.conversations.repository import ConversationRepository, StoreDamaged
from jiwa.prompts import load_prompt
from jiwa.settings import get_settings
from serving.app import configure_logging, create_app
from serving.primer import startup_problem

log = logging.getLogger("jiwa.serving")


def main() -> None:
    settings = get_settings()
    configure_logging()
    try:  # the one store the server cannot answer without: refused in one line, not a traceback; the app keeps it
        repository = ConversationRepository.open(
            settings.conversations_db, allow_empty=settings.conversations_allow_empty
        )
    except StoreDamaged as exc:
        log.critical("%s", exc)
        sys.exit(2)
    # Claude would answer, but cache nothing: refused with the numbers, not discovered on the bill.
    short = startup_problem(settings, load_prompt("responder").system.strip())
    if short:
        repository.close()
        log.critical("%s", short)
        sys.exit(2)
    uvicorn.run(
        create_app(settings, repository),
        host=settings.host,
        port=settings.port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
