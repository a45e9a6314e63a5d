"""Property-based requests generated from the server's own OpenAPI schema: none may get a 5xx."""

import os
import subprocess
import sys
from pathlib import Path

from serving.app import create_app
from tests.support.server import LiveServer, publish_curated, server_settings


def test_no_generated_request_gets_a_server_error(claude, data_uri, resources):
    publish_curated(resources)  # a server without its knowledge base answers /ready with a deliberate 503
    claude.mode = "529"  # degraded responders must not surface as errors either
    settings = server_settings(data_uri, claude.url, api_keys="", rate_limit_per_minute=100_000)
    with LiveServer(create_app(settings)) as server:
        cli = Path(sys.executable).with_name("schemathesis")
        result = subprocess.run(
            [
                str(cli),
                "run",
                f"{server.url}/schema/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "25",
                "--workers",
                "1",
                "--seed",
                "7",
                "--phases",
                "coverage,fuzzing,stateful",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "NO_COLOR": "1"},
        )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "generated" in result.stdout
