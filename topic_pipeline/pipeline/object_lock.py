"""The store lock on object storage: one object taken with a conditional write.

S3 refuses a ``PutObject`` with ``If-None-Match: *`` when the object exists,
so exactly one writer creates the lock object. Its content is the holder's
token, so its ETag names the holder: the holder renews it (a PUT with
``If-Match`` on that ETag, which moves LastModified) and deletes it the same
way, and a waiter breaks a lock left untouched for ``stale_seconds`` only with
a delete conditioned on the ETag it saw, so a lock taken anew meanwhile is
never removed. The same rules as the local ``O_EXCL`` lock file, for stores on
S3 and S3-compatible servers (MinIO, moto, Ceph).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from topic_pipeline.errors import StoreError
from topic_pipeline.pipeline.shared_storage import renewing


class _Precondition(Exception):
    """The server refused a conditional write or delete."""


def _call(fs: Any, method: str, **kwargs: Any) -> dict[str, Any]:
    try:
        return fs.call_s3(method, **kwargs)
    except FileExistsError as exc:  # s3fs translates PreconditionFailed to FileExistsError
        raise _Precondition(str(exc)) from None
    except OSError as exc:
        if "precondition" in str(exc).lower() or "PreconditionFailed" in str(exc):
            raise _Precondition(str(exc)) from None
        raise


def _bucket_key(path: Any) -> tuple[str, str]:
    bucket, _, key = path.path.partition("/")
    return bucket, key


@contextlib.contextmanager
def object_lock(path: Any, *, stale_seconds: float, timeout: float) -> Iterator[None]:
    """Hold the lock object at ``path`` (a UPath on S3) for the block.

    Raises
    ------
    StoreError
        The store is not on S3 (no conditional writes), or the lock stayed
        taken for ``timeout`` seconds.
    """
    if path.protocol not in ("s3", "s3a") and "s3" not in getattr(path.fs, "protocol", ()):
        raise StoreError(f"A store on {path.protocol}:// cannot be locked (it needs S3's conditional writes); "
                         "use a local folder or an s3:// location.")
    fs, (bucket, key) = path.fs, _bucket_key(path)
    token = f"{uuid.uuid4().hex}".encode()
    deadline = time.monotonic() + timeout
    while True:
        try:
            etag = _call(fs, "put_object", Bucket=bucket, Key=key, Body=token, IfNoneMatch="*")["ETag"]
            break
        except _Precondition:
            _break_if_stale(fs, bucket, key, stale_seconds)
            if time.monotonic() > deadline:
                raise StoreError(f"The store lock {path} stayed taken for {timeout:.0f} s; "
                                 "another run or gc holds it.") from None
            time.sleep(0.1)
    def touch() -> None:
        _call(fs, "put_object", Bucket=bucket, Key=key, Body=token, IfMatch=etag)

    try:
        with renewing(touch, stale_seconds / 12, "store-lock", ignore=Exception):
            yield
    finally:
        with contextlib.suppress(Exception):
            _call(fs, "delete_object", Bucket=bucket, Key=key, IfMatch=etag)


def _break_if_stale(fs: Any, bucket: str, key: str, stale_seconds: float) -> None:
    try:
        seen = _call(fs, "head_object", Bucket=bucket, Key=key)
    except (FileNotFoundError, _Precondition):
        return
    modified = seen["LastModified"]
    age = (datetime.now(UTC) - modified).total_seconds()
    if age > stale_seconds:
        with contextlib.suppress(_Precondition, FileNotFoundError):
            _call(fs, "delete_object", Bucket=bucket, Key=key, IfMatch=seen["ETag"])
