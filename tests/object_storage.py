"""An S3-compatible server on 127.0.0.1 for the tests and benchmarks: moto in server mode.

``s3_server`` starts one (a real HTTP server speaking the S3 protocol, conditional writes
included), points the standard AWS variables at it, and stops it afterwards. The store
reaches it exactly as it would reach AWS: through s3fs/botocore and ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator

AWS_SETTINGS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
                "AWS_PROFILE", "AWS_SESSION_TOKEN")


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """Run moto's S3 server on a free port of 127.0.0.1 and export its endpoint; yield the endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {name: os.environ.get(name) for name in AWS_SETTINGS}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_ENDPOINT_URL=endpoint,
                      AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    forget_filesystems()
    try:
        yield endpoint
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        forget_filesystems()


def forget_filesystems() -> None:
    """fsspec keeps one S3FileSystem per set of arguments; the endpoint lives in the environment, so drop them."""
    with contextlib.suppress(ImportError):
        import s3fs

        s3fs.S3FileSystem.clear_instance_cache()


def new_bucket(prefix: str = "store") -> str:
    """Create a bucket with a fresh name on the current endpoint; return ``s3://<bucket>/<prefix>``."""
    import boto3

    name = f"tp-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return f"s3://{name}/{prefix}"
