"""Write outputs so a crash never leaves something half-written that looks whole,
and never replace anything splatcine did not write.

A new directory is built in a hidden temporary sibling and renamed into place when
complete. An existing directory (empty, or an earlier output of the same kind being
replaced with `--overwrite`) keeps its own inode, so `-o .` and mount points work:
the new output is built in a hidden folder inside it, and on success the old entries
are moved out and the new ones in, `manifest.json` last, so a mixture never looks whole.
A single file is written next to its target and `os.replace`d.

What may be replaced is decided before any work starts (`check_output_dir`): only an
empty directory or one whose `manifest.json` says splatcine wrote it as the same kind
of output, and never a directory that holds one of the run's inputs. Folders created
for the output are removed again when the run fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from splatcine.errors import InputError

MANIFEST = "manifest.json"  # the same name as splatcine.scene.layout.MANIFEST (no import: layering)
SCENE_KIND = "splatcine scene"
SHOT_KIND = "splatcine shot"
CHECK_KIND = "splatcine check report"
_TMP = ".splatcine-tmp-"
_OLD = ".splatcine-old-"


def output_kind(directory: Path) -> str | None:
    """What splatcine wrote `directory` as ("splatcine scene", "splatcine shot"), from its manifest."""
    try:
        manifest = json.loads((Path(directory) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict):
        return None
    kind = manifest.get("kind")
    if isinstance(kind, str) and kind.startswith("splatcine "):
        return kind
    return SCENE_KIND if "splatcine_scene" in manifest else None  # scenes before "kind" was written


def check_output_dir(target: Path, overwrite: bool = False, kind: str | None = None,
                     inputs: Iterable[Path] = ()) -> None:  # fmt: skip
    """Raise `InputError` unless `target` may become (or be replaced by) a new output of `kind`.

    Allowed: a missing path, an empty directory, or with `overwrite` a directory splatcine
    wrote as the same `kind` (any splatcine output when `kind` is None). Never a file, and
    never a directory that is, or holds, one of `inputs`.
    """
    target = _absolute(target)
    for given in inputs:
        source = _absolute(given)
        if source == target or target in source.parents:
            what = "is" if source == target else "holds"
            raise InputError(f"{target}: the output directory {what} this run's input {given}; "
                             f"choose another output directory")  # fmt: skip
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir():
        raise InputError(f"{target}: exists and is not a directory; choose another output path")
    if not _entries(target):
        return
    found = output_kind(target)
    if not overwrite:
        replaceable = found is not None and found == (kind or found)
        raise InputError(f"{target}: already exists and is not empty"
                         + (" (pass --overwrite to replace it)" if replaceable else ""))
    if found is None:
        raise InputError(f"{target}: not written by splatcine (no splatcine {MANIFEST}); "
                         f"--overwrite replaces only splatcine's own outputs: choose another output directory")
    if kind is not None and found != kind:
        raise InputError(f"{target}: holds a {found}, not a {kind}; --overwrite replaces only an "
                         f"output of the same kind: choose another output directory")  # fmt: skip


@contextlib.contextmanager
def atomic_directory(target: Path, overwrite: bool = False, *, kind: str | None = None,
                     inputs: Iterable[Path] = ()) -> Iterator[Path]:  # fmt: skip
    """Yield a temporary directory that becomes `target` only if the block succeeds.

    `check_output_dir(target, overwrite, kind, inputs)` runs first. When `kind` is None
    the kind is taken from the new output's manifest and must match the one it replaces.
    """
    target = _absolute(target)
    inputs = list(inputs)
    check_output_dir(target, overwrite, kind, inputs)
    in_place = target.is_dir()
    with _created_parents(target if in_place else target.parent, target):
        base = target if in_place else target.parent
        tmp = Path(_writable(target, lambda: tempfile.mkdtemp(prefix=_TMP if in_place else f".{target.name}.tmp-",
                                                               dir=base)))
        try:
            tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; the finished directory gets the usual mode
            yield tmp
            if in_place and kind is None and _entries(target, skip=tmp) and output_kind(tmp) != output_kind(target):
                raise InputError(f"{target}: holds a {output_kind(target)}, not a {output_kind(tmp)}; "
                                 f"choose another output directory")  # fmt: skip
            if in_place:
                _swap_contents(tmp, target)
            else:
                os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to `target`; it replaces `target` if the block succeeds."""
    target = _absolute(target)
    if target.is_dir():
        raise InputError(f"{target}: is a directory; give a file name to write")
    with _created_parents(target.parent, target):
        fd, name = _writable(target, lambda: tempfile.mkstemp(prefix=f".{target.name}.tmp-",
                                                              suffix=target.suffix, dir=target.parent))
        os.close(fd)
        tmp = Path(name)
        try:
            tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
            yield tmp
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def check_output_file(target: Path, overwrite: bool = False) -> None:
    """Raise `InputError` unless `target` can be written: not a directory, not an existing file
    without `overwrite`, and not inside a file."""
    target = _absolute(target)
    if target.is_dir():
        raise InputError(f"{target}: is a directory; give a file name to write")
    if target.exists() and not overwrite:
        raise InputError(f"{target}: already exists (pass --overwrite to replace it)")
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(f"{target}: cannot write here ({parent} is not a directory)")
            break


def _swap_contents(new: Path, target: Path) -> None:
    """Move `target`'s entries aside and `new`'s into it; manifest.json out first and in last."""
    old = Path(tempfile.mkdtemp(prefix=_OLD, dir=target))
    try:
        for entry in sorted(_entries(target, skip=new, also_skip=old), key=lambda p: p.name != MANIFEST):
            os.replace(entry, old / entry.name)
        for entry in sorted(_entries(new), key=lambda p: p.name == MANIFEST):
            os.replace(entry, target / entry.name)
    except BaseException:  # put the old output back; the new one is dropped by the caller
        for entry in _entries(target, skip=new, also_skip=old):
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
        for entry in _entries(old):
            os.replace(entry, target / entry.name)
        shutil.rmtree(old, ignore_errors=True)
        raise
    new.rmdir()
    shutil.rmtree(old, ignore_errors=True)


def _entries(directory: Path, skip: Path | None = None, also_skip: Path | None = None) -> list[Path]:
    return [p for p in Path(directory).iterdir() if p != skip and p != also_skip]


@contextlib.contextmanager
def _created_parents(directory: Path, target: Path) -> Iterator[None]:
    """Create `directory` and its missing parents (for `target`); remove the ones created if the
    block fails."""
    missing = []
    for parent in [directory, *directory.parents]:
        if parent.exists():
            break
        missing.append(parent)
    _writable(target, lambda: directory.mkdir(parents=True, exist_ok=True))
    try:
        yield
    except BaseException:
        for parent in missing:  # deepest first; only while still empty
            try:
                parent.rmdir()
            except OSError:
                break
        raise


def _writable(target: Path, make):
    """Run `make` (a mkdir or mkstemp for `target`); an OS refusal becomes one `InputError` line."""
    try:
        return make()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise InputError(f"{target}: cannot write here ({reason})") from None


def _absolute(path: Path) -> Path:
    """An absolute, normalised path (`.` and `..` folded, symlinks kept)."""
    return Path(os.path.abspath(Path(path).expanduser()))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
