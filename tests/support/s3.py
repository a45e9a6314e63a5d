"""An S3-compatible server on loopback (moto), with the AWS_* variables that point Jiwa's stores at it."""

import boto3
from moto.server import ThreadedMotoServer

from tests.support.server import free_port


class S3:
    def __init__(self) -> None:
        self.port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.environment = {
            "AWS_ACCESS_KEY_ID": "jiwa-test",
            "AWS_SECRET_ACCESS_KEY": "jiwa-test-secret",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
        }

    def bucket(self, name: str) -> str:
        client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **self._keys())
        client.create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, bytes]:
        client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **self._keys())
        keys = [
            o["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])
        ]
        return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}

    def _keys(self) -> dict:
        return {
            "aws_access_key_id": self.environment["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": self.environment["AWS_SECRET_ACCESS_KEY"],
        }

    def stop(self) -> None:
        self._server.stop()
