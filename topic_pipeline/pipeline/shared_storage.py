"""Where a store's shared state lives: a local folder, or a prefix on object storage.

A store given as a URL (``s3://bucket/prefix``) keeps everything several
machines must agree on there: the stage outputs, the pointer file, the run
ledgers and leases, the run log, the per-document embedding cache and the
lock. Each machine reads outputs through a local mirror of the folders it
needs (content-addressed, so a copy never goes stale), which keeps memory
mapping, NumPy and Parquet readers working on plain files.

Paths on object storage are ``upath.UPath`` objects (universal-pathlib over
fsspec), which share pathlib's API; the few operations pathlib spells with
``os`` (atomic replace, recursive delete, upload, download) are here, for both
kinds. Credentials and the endpoint come from the usual AWS settings
(``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``, ``AWS_ENDPOINT_URL``, ...), read by
s3fs/botocore themselves.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from topic_pipeline.errors import StoreError

MIRROR_ENV = "TOPIC_PIPELINE_STORE_MIRROR"
MANIFEST = "manifest.json"
TMP_PREFIX = ".tmp-"
# fsspec's s3fs remembers listings; runs on other machines change them, so every look asks the server
_STORAGE_OPTIONS: dict[str, dict[str, Any]] = {"s3": {"use_listings_cache": False}}

# A path of the store: a local one, or one on object storage (``upath.UPath``; not a pathlib.Path)
StorePath = Any


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether a store location names object storage (``scheme://...``; ``file://`` counts as local)."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def local_location(location: str | os.PathLike[str]) -> Path:
    text = str(location)
    return Path(text[len("file://"):] if text.startswith("file://") else text)


def open_remote(url: str) -> StorePath:
    """The remote root as a UPath, checked once so a wrong bucket or credentials fail in one line.

    Raises
    ------
    StoreError
        fsspec has no implementation for the scheme (its package is missing), or the
        location cannot be listed.
    """
    scheme = url.split("://", 1)[0]
    try:
        from upath import UPath

        root = UPath(url.rstrip("/"), **_STORAGE_OPTIONS.get(scheme, {}))
    except ImportError as exc:
        package = "s3fs" if scheme in ("s3", "s3a") else exc.name or f"the fsspec implementation of {scheme}://"
        raise StoreError(f"The store {url} needs the package {package} "
                         f"(pip install 'topic_pipeline[s3]'); it is not installed.") from None
    except ValueError as exc:
        raise StoreError(f"The store location {url} is not usable: {exc}") from None
    try:
        root.fs.ls(root.path.split("/", 1)[0])
    except Exception as exc:  # botocore, aiohttp and fsspec raise many kinds; all mean "cannot reach it"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StoreError(f"The store {url} cannot be reached ({first}); check the bucket, AWS_ENDPOINT_URL "
                         "and the AWS credentials.") from None
    return root


def mirror_folder(url: str) -> Path:
    """The local folder that mirrors a remote store: ``$TOPIC_PIPELINE_STORE_MIRROR`` or the user's cache."""
    base = os.environ.get(MIRROR_ENV)
    if base:
        return Path(base)
    digest = hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]
    return Path.home() / ".cache" / "topic_pipeline" / "stores" / digest


def is_local(path: StorePath) -> bool:
    return isinstance(path, Path)


def write_bytes(path: StorePath, data: bytes) -> None:
    """Write a whole file so that readers see the old content or the new, never a part.

    Locally through a temporary name and a rename; on object storage one PUT,
    which is atomic by itself.
    """
    if not is_local(path):
        path.write_bytes(data)
        return
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary name beside ``path``; rename it to ``path`` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{uuid.uuid4().hex}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def renewing(renew: Callable[[], None], every: float, name: str,
             ignore: type[BaseException] | tuple[type[BaseException], ...] = OSError) -> Iterator[None]:
    """Call ``renew`` every ``every`` seconds in a daemon thread while the block runs (locks, leases).

    A failed renewal (``ignore``) is tried again next time; the thread is stopped and joined on exit.
    """
    stop = threading.Event()

    def keep_renewing() -> None:
        while not stop.wait(every):
            with contextlib.suppress(ignore):
                renew()

    thread = threading.Thread(target=keep_renewing, name=name, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def remove_tree(path: StorePath) -> None:
    """Delete a folder (or file) and everything under it; missing is fine."""
    if is_local(path):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        return
    try:
        path.fs.rm(path.path, recursive=True)
    except FileNotFoundError:
        pass


def tree_size(path: StorePath) -> int:
    if is_local(path) and path.is_file():
        return path.stat().st_size
    if not is_local(path):
        return sum(int(info.get("size") or 0) for info in path.fs.find(path.path, detail=True).values())
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def upload_folder(local: Path, target: StorePath) -> None:
    """Copy a finished output folder to object storage, its manifest last.

    Each object appears whole (a PUT is atomic) and readers go by the manifest,
    so an output is visible only once all of its files are there.
    """
    files = sorted((p for p in local.rglob("*") if p.is_file()), key=lambda p: (p.name == MANIFEST, str(p)))
    for file in files:
        target.fs.put_file(str(file), f"{target.path}/{file.relative_to(local).as_posix()}")


def download_folder(source: StorePath, local: Path) -> bool:
    """Copy a published output folder from object storage into ``local``; False if it has no manifest.

    The copy is made under a temporary name and renamed into place with its
    manifest, so a mirror folder is either whole or absent.
    """
    prefix = source.path.rstrip("/")
    names = sorted(source.fs.find(prefix))
    if f"{prefix}/{MANIFEST}" not in names:
        return False
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_name(f"{TMP_PREFIX}{local.name}~mirror~{uuid.uuid4().hex[:8]}")
    try:
        for name in names:
            destination = tmp / name[len(prefix) + 1:]
            destination.parent.mkdir(parents=True, exist_ok=True)
            source.fs.get_file(name, str(destination))
        try:
            os.rename(tmp, local)
        except OSError:
            if not (local / MANIFEST).exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process mirrored it first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return True


def download_file(source: StorePath, local: Path) -> None:
    """Copy one immutable object into ``local`` through a temporary name."""
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_name(f"{TMP_PREFIX}{local.name}.{uuid.uuid4().hex}")
    try:
        source.fs.get_file(source.path, str(tmp))
        os.replace(tmp, local)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def upload_file(local: Path, target: StorePath) -> None:
    target.fs.put_file(str(local), target.path)
