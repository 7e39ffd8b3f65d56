"""Every output of a run, planned and checked before any work starts (no Qt, no torch).

A run (render, fuse, sheet, training) lists the files it will write; ``plan_outputs`` refuses the
whole run, with one message and nothing written, when a name has an extension we cannot write, is a
folder, lies in a folder that does not exist, is written twice, or would overwrite an input, a file
in a folder being read, or anything being read under another spelling of its path.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path

from ..errors import BadInputError
from .user_files import path_key, printable, same_file, user_path


def _inside(path: Path, folder: Path) -> bool:
    return same_file(path.parent, folder)


def plan_outputs(
    targets: Sequence[str | os.PathLike[str]],
    extensions: Collection[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
    read_folders: Iterable[str | os.PathLike[str]] = (),
    sources: Sequence[str | os.PathLike[str]] | None = None,
    folder_to_create: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Check a run's outputs; return them as paths. Raises BadInputError naming the first problem.

    ``sources`` (one per target, optional) name what each output is made from, for collision messages.
    ``folder_to_create`` is the output folder the run will create, so its absence is not an error.
    """
    planned = [user_path(t) for t in targets]
    inputs = [user_path(p) for p in inputs]
    folders = [Path(f).expanduser() for f in read_folders]
    creating = Path(folder_to_create).expanduser() if folder_to_create is not None else None
    allowed = sorted({e.lower() for e in extensions})
    seen: dict[str, int] = {}
    for i, target in enumerate(planned):
        shown = printable(target)
        if target.is_dir():
            raise BadInputError(f"{shown}: is a folder; give an output file name such as "
                                f"{printable(target / ('result' + allowed[0]))}")
        if target.suffix.lower() not in allowed:
            ext = printable(target.suffix) or "no extension"
            raise BadInputError(f"{shown}: cannot write '{ext}' files here; use {', '.join(allowed)}")
        parent = target.parent if str(target.parent) else Path(".")
        if creating is None or not same_file(parent, creating):
            if not parent.is_dir():
                raise BadInputError(f"{shown}: the folder {printable(parent)} does not exist")
            if not os.access(parent, os.W_OK):
                raise BadInputError(f"{shown}: the folder {printable(parent)} is not writable")
        key = path_key(target)
        if key in seen:
            j = seen[key]
            what = (f"{printable(sources[j])} and {printable(sources[i])} would both be written to {shown}"
                    if sources is not None else f"{shown} would be written twice")
            raise BadInputError(f"{what}; rename one or give them separate output folders")
        seen[key] = i
        for folder in folders:
            if _inside(target, folder):
                raise BadInputError(f"{shown}: the output would be written into {printable(folder)}, a folder "
                                    "being read; choose another output folder")
        for source in inputs:
            if same_file(target, source):
                raise BadInputError(f"{shown}: the output would overwrite the input {printable(source)}; "
                                    "choose another output name")
    return planned
