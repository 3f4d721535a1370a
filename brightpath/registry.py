"""Versioned model directories on disk, after TensorFlow Serving's convention.

Layout of a model root (``brightpath.export.default_model_dir()``: ``$BRIGHTPATH_MODEL_DIR``, else
``$BRIGHTPATH_HOME/models``, else ``./models``)::

    <model_dir>/
      versions/<name>/<N>/          every published version of model <name> ("generator", "reward",
                                    "policy"), N = 1, 2, …: a SavedModel + brightpath_model.json
      versions/<name>/.lock         serialises publishing and promotion (numbers are never reused)
      versions/<name>/promotions.jsonl   one JSON line per promotion: version, previous, time
      <name> -> versions/<name>/<N> a relative symlink: the promoted ("champion") version

``<model_dir>/<name>`` stays the stable directory of CONTRACTS §6
(``tf.saved_model.load("models/generator")`` keeps working). ``publish`` writes a new numbered
version atomically (``export.atomic_directory_write``); ``promote`` swaps the champion link
atomically (``os.replace`` of a new link over the old); ``resolve`` says which version to serve:
a pinned version (a rollback) regardless of the link, else the champion. A reader that resolved
version N keeps a complete directory even while N + 1 is promoted: versions are never modified
or removed here.

A ``<model_dir>/<name>`` that is a real directory (written before this registry existed) is served
as it is (version ``None``); the first ``publish`` or ``promote`` of that name adopts it as the
next numbered version, so nothing already trained is lost. Adoption renames the directory and then
creates the link: between those two calls (microseconds, once per model root) the name is absent.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from brightpath.errors import ModelLoadError
from brightpath.export import METADATA_FILE, atomic_directory_write, read_metadata, write_metadata

VERSIONS_DIR = "versions"
LOCK_FILE = ".lock"
PROMOTIONS_FILE = "promotions.jsonl"
REGISTRY_KEY = "registry"
"""Key of the entry ``publish`` adds to a version's ``brightpath_model.json``: name, version, published_at."""

_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


class ModelNotFoundError(ModelLoadError):
    """Nothing to serve: no version of the model was promoted, or a pinned version does not exist."""


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"model name: expected lowercase letters, digits, '_' or '-' (e.g. 'generator'), got {name!r}")
    return name


def _check_version(version: Any) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"model version: expected an integer >= 1, got {version!r}")
    return version


def versions_dir(model_dir: str | os.PathLike, name: str) -> Path:
    """``<model_dir>/versions/<name>``: where the numbered versions of ``name`` live."""
    return Path(model_dir) / VERSIONS_DIR / _check_name(name)


def version_path(model_dir: str | os.PathLike, name: str, version: int) -> Path:
    """``<model_dir>/versions/<name>/<version>`` (it may not exist)."""
    return versions_dir(model_dir, name) / str(_check_version(version))


def champion_path(model_dir: str | os.PathLike, name: str) -> Path:
    """``<model_dir>/<name>``: the stable path of the promoted version (a symlink, or a legacy directory)."""
    return Path(model_dir) / _check_name(name)


def list_versions(model_dir: str | os.PathLike, name: str) -> list[int]:
    """Published version numbers of ``name``, ascending (staging and hidden entries are skipped)."""
    directory = versions_dir(model_dir, name)
    if not directory.is_dir():
        return []
    return sorted(int(entry.name) for entry in directory.iterdir() if entry.name.isdigit() and entry.is_dir())


def champion_version(model_dir: str | os.PathLike, name: str) -> int | None:
    """The promoted version number, or None (nothing promoted, or a legacy directory)."""
    link = champion_path(model_dir, name)
    if not link.is_symlink():
        return None
    return _linked_version(link)


def resolve(model_dir: str | os.PathLike, name: str, pinned: int | None = None) -> tuple[int | None, Path]:
    """Which directory to serve for ``name``: ``(version, concrete version directory)``.

    Args:
        model_dir: the model root.
        name: the model, e.g. ``"generator"``.
        pinned: serve this version whatever is promoted (a rollback); None follows the champion.

    Returns:
        ``(N, <model_dir>/versions/<name>/<N>)`` for a pinned or promoted version: the real
        directory, never the link, so a later promotion does not change what a caller loaded.
        ``(None, <model_dir>/<name>)`` for a legacy real directory.

    Raises:
        ModelNotFoundError: nothing promoted and no legacy directory, a pinned version that does
            not exist, or a champion link pointing at a missing version (naming the path).
        ModelLoadError: a champion link that does not point into ``versions/<name>/``.
    """
    if pinned is not None:
        path = version_path(model_dir, name, pinned)
        if not path.is_dir():
            raise ModelNotFoundError(
                path,
                f"pinned version {pinned} of {name!r} does not exist "
                f"(published: {list_versions(model_dir, name) or 'none'})",
            )
        return pinned, path
    link = champion_path(model_dir, name)
    if link.is_symlink():
        version = _linked_version(link)
        path = version_path(model_dir, name, version)
        if not path.is_dir():
            raise ModelNotFoundError(link, f"the champion link points to version {version}, which does not exist")
        return version, path
    if link.is_dir():
        return None, link
    raise ModelNotFoundError(link, f"no version of {name!r} has been promoted")


def publish(
    model_dir: str | os.PathLike,
    name: str,
    write_fn: Callable[[Path], Any],
    metadata: Mapping[str, Any] | None = None,
    *,
    promote: bool = True,
) -> int:
    """Write a new numbered version of ``name`` and (by default) make it the champion.

    Args:
        model_dir: the model root.
        name: the model, e.g. ``"generator"``.
        write_fn: ``write_fn(directory)`` writes the model into the empty ``directory`` (a
            SavedModel, usually with its ``brightpath_model.json``). Nothing is published if it raises.
        metadata: entries merged into the version's ``brightpath_model.json`` (created if
            ``write_fn`` wrote none), e.g. the MLflow run id; ``publish`` adds
            ``registry: {name, version, published_at}``.
        promote: True moves the champion link to the new version; False publishes a challenger.

    Returns:
        The new version number (one more than the highest ever published; a legacy
        ``<model_dir>/<name>`` directory is first adopted as its own version).
    """
    with _locked(model_dir, name):
        _adopt_legacy(model_dir, name)
        version = max(list_versions(model_dir, name), default=0) + 1
        stamp = {"name": name, "version": version, "published_at": _now()}

        def write(directory: Path) -> None:
            write_fn(directory)
            existing = read_metadata(directory) if (directory / METADATA_FILE).exists() else {}
            write_metadata(directory, {**existing, **dict(metadata or {}), REGISTRY_KEY: stamp})

        atomic_directory_write(version_path(model_dir, name, version), write)
        if promote:
            _point_champion(model_dir, name, version)
    return version


def promote(model_dir: str | os.PathLike, name: str, version: int) -> None:
    """Make ``version`` the champion of ``name`` (atomic link swap); also the way to roll back.

    Raises:
        ModelNotFoundError: the version does not exist or holds no ``brightpath_model.json``.
    """
    path = version_path(model_dir, name, version)
    with _locked(model_dir, name):
        _adopt_legacy(model_dir, name)
        if not (path / METADATA_FILE).is_file():
            raise ModelNotFoundError(
                path,
                f"version {version} of {name!r} does not exist or is incomplete "
                f"(published: {list_versions(model_dir, name) or 'none'})",
            )
        _point_champion(model_dir, name, version)


def promotions(model_dir: str | os.PathLike, name: str) -> list[dict[str, Any]]:
    """Every promotion of ``name``, oldest first: ``{"version", "previous", "promoted_at"}``."""
    path = versions_dir(model_dir, name) / PROMOTIONS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _linked_version(link: Path) -> int:
    target = Path(os.readlink(link))
    expected = Path(VERSIONS_DIR) / link.name
    if target.parent != expected or not target.name.isdigit():
        raise ModelLoadError(link, f"the champion link points to {str(target)!r}, not into {expected}/<N>")
    return int(target.name)


def _point_champion(model_dir: str | os.PathLike, name: str, version: int) -> None:
    """Swap the champion link to ``version`` (caller holds the lock) and record the promotion."""
    link = champion_path(model_dir, name)
    previous = champion_version(model_dir, name)
    staging = link.with_name(f".{name}.link-{uuid.uuid4().hex}")
    os.symlink(os.path.join(VERSIONS_DIR, name, str(version)), staging)
    try:
        os.replace(staging, link)
    finally:
        if staging.is_symlink():
            staging.unlink()
    record = {"version": version, "previous": previous, "promoted_at": _now()}
    with open(versions_dir(model_dir, name) / PROMOTIONS_FILE, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def _adopt_legacy(model_dir: str | os.PathLike, name: str) -> None:
    """Move a real ``<model_dir>/<name>`` directory into ``versions/`` and link it (caller holds the lock)."""
    link = champion_path(model_dir, name)
    if link.is_symlink() or not link.is_dir():
        return
    version = max(list_versions(model_dir, name), default=0) + 1
    link.rename(version_path(model_dir, name, version))
    _point_champion(model_dir, name, version)


@contextlib.contextmanager
def _locked(model_dir: str | os.PathLike, name: str) -> Iterator[None]:
    directory = versions_dir(model_dir, name)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


__all__ = [
    "LOCK_FILE",
    "PROMOTIONS_FILE",
    "REGISTRY_KEY",
    "VERSIONS_DIR",
    "ModelNotFoundError",
    "champion_path",
    "champion_version",
    "list_versions",
    "promote",
    "promotions",
    "publish",
    "resolve",
    "version_path",
    "versions_dir",
]
