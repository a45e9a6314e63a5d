"""The pipeline side of the log: the observable source sees what the server wrote, with no lock on either side."""

import dagster as dg
from litestar.testing import AsyncTestClient

from assets.conversations import conversation_log
from assets.resources import StoresResource
from serving.app import create_app
from tests.support.server import auth, server_settings


def observe(stores):
    defs = dg.Definitions(
        assets=[conversation_log],
        jobs=[dg.define_asset_job("observe_log", selection=[conversation_log])],
        resources={"stores": stores},
    )
    return defs.resolve_job_def("observe_log").execute_in_process(instance=dg.DagsterInstance.ephemeral())


async def test_observation_reads_the_store_while_the_server_writes(claude, data_uri):
    stores = StoresResource(data_uri=data_uri)
    empty = observe(stores)
    assert empty.success

    async with AsyncTestClient(app=create_app(server_settings(data_uri, claude.url))) as client:
        for user in ("ana", "budi"):
            answer = (await client.post("/v1/chat", json={"user_id": user, "message": "Halo"}, headers=auth())).json()
        await client.post(
            f"/v1/messages/{answer['message_id']}/feedback", json={"user_id": "budi", "rating": "up"}, headers=auth()
        )

        # The server is still running and still holds its new active segment open.
        result = observe(stores)
        observation = result.asset_observations_for_node("conversation_log")[0]
        assert observation.metadata["events"].value == 5
        assert observation.metadata["conversations"].value == 2
        assert observation.metadata["feedback"].value == 1
        # The server keeps writing while the pipeline reads; the next observation sees the new events.
        more = await client.post("/v1/chat", json={"user_id": "ana", "message": "Lagi"}, headers=auth())
        assert more.status_code == 200
        again = observe(stores).asset_observations_for_node("conversation_log")[0]
        assert again.metadata["events"].value == 7 and again.metadata["conversations"].value == 3
        assert again.tags["dagster/data_version"] != observation.tags["dagster/data_version"]
