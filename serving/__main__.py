"""`python -m serving`: run the chat server with uvicorn."""

import logging
import sys

import uvicorn

from jiwa.conversations.repository import ConversationRepository, StoreDamaged
from jiwa.settings import get_settings
from serving.app import configure_logging, create_app

log = logging.getLogger("jiwa.serving")


def main() -> None:
    settings = get_settings()
    configure_logging()
    try:  # the one store the server cannot answer without: refused in one line, not a traceback
        ConversationRepository.open(settings.conversations_db, allow_empty=settings.conversations_allow_empty).close()
    except StoreDamaged as exc:
        log.critical("%s", exc)
        sys.exit(2)
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=10
    )


if __name__ == "__main__":
    main()
