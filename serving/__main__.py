"""`python -m serving`: run the chat server with uvicorn."""

import uvicorn

from jiwa.settings import get_settings
from serving.app import configure_logging, create_app


def main() -> None:
    settings = get_settings()
    configure_logging()
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_config=None, timeout_graceful_shutdown=10
    )


if __name__ == "__main__":
    main()
