"""Download SVHN's or CUB's archives into the data folder and extract them, where a machine
has internet: ``python -m stn.data.download svhn|cub [--data-dir DIR]``.

Each archive is fetched to ``<data_dir>/downloads/<name>.partial`` with a progress bar, and
named ``<name>`` only once whole; an interrupted download resumes from its partial file
(HTTP ``Range``). An archive that fails its check is deleted, saying why. A finished archive is
checked (its MD5 where the source publishes one, CUB's), then extracted into a temporary
folder beside its destination, checked there (the layout the DataModule reads), and moved
into place: a failure at any step leaves no half-extracted dataset. MNIST needs none of
this: it downloads itself on first use (``stn.data.mnist_files``).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stn.data.cub_metadata import read_cub_metadata
from stn.data.digit_struct import read_digit_struct
from stn.data.svhn_cache import URL as SVHN_URL
from stn.errors import MissingData, UsageError
from stn.paths import default_data_dir

CHUNK = 1 << 20


@dataclass(frozen=True)
class Archive:
    """One archive: where it comes from, its MD5 (``None``: unpublished), the folder it
    unpacks to (relative to the data folder) and a check of that folder."""

    url: str
    md5: str | None
    folder: str
    check: Callable[[Path], None]


def _check_cub(folder: Path) -> None:
    meta = read_cub_metadata(folder)
    missing = [p for p in meta.paths if not p.exists()]
    if missing:
        raise UsageError(f"{missing[0]} is missing: the archive is incomplete")


def _check_svhn(folder: Path) -> None:
    records = read_digit_struct(folder / "digitStruct.mat")
    missing = [n for n in records.names if not (folder / n).exists()]
    if missing:
        raise UsageError(f"{folder / missing[0]} is missing: the archive is incomplete")


DATASETS: dict[str, list[Archive]] = {
    "cub": [
        Archive(
            "https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz?download=1",
            "97eceeb196236b17998738112f37df78",
            "CUB_200_2011",
            _check_cub,
        )
    ],
    "svhn": [
        Archive(f"{SVHN_URL}{split}.tar.gz", None, f"SVHN/{split}", _check_svhn)
        for split in ("train", "extra", "test")
    ],
}


def fetch(url: str, path: Path, progress: bool = True, tries: int = 5) -> None:
    """Download ``url`` to ``path``, resuming from ``path.partial`` where a previous try
    stopped; ``path`` appears only once the whole file is there: the length the server
    promised, or, where it promised none, once it has nothing left to send (HTTP 416).

    Raises:
        OSError: the transfer ended short (``path.partial`` stays, to resume from).
    """
    partial = path.with_name(path.name + ".partial")
    for _ in range(tries):
        done = partial.stat().st_size if partial.exists() else 0
        headers = {"Range": f"bytes={done}-"} if done else {}
        try:
            response = urllib.request.urlopen(
                urllib.request.Request(url, headers=headers), timeout=60
            )
        except urllib.error.HTTPError as err:
            if err.code != 416:  # 416: nothing left to send, the partial file is whole
                raise
            partial.replace(path)
            return
        with response:
            restarted = bool(done) and response.status != 206  # the server ignored Range
            before, done = done, 0 if restarted else done
            length = response.headers.get("Content-Length")
            total = int(length) + done if length is not None else None
            bar = _bar(path.name, total or 0, done) if progress else None
            with partial.open("ab" if done else "wb") as out:
                try:
                    while chunk := response.read(CHUNK):
                        out.write(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
                except http.client.IncompleteRead as err:  # cut before the promised length
                    out.write(err.partial)
            if bar is not None:
                bar.close()
        size = partial.stat().st_size
        if total is not None and size < total:
            raise OSError(f"the transfer ended at {size:,} of {total:,} bytes")
        if total is not None or (restarted and size == before):  # whole, as far as is known
            partial.replace(path)
            return
        # No length promised: ask for what follows; a server with nothing left says 416.
    raise OSError(f"{url} never said it had sent the whole file in {tries} tries")


def _bar(name: str, total: int, done: int):
    from tqdm import tqdm

    return tqdm(total=total or None, initial=done, unit="B", unit_scale=True, desc=name)


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def install(archive: Archive, data_dir: Path, progress: bool = True) -> Path:
    """``archive`` downloaded, checked and extracted into ``data_dir``; returns its folder
    (left as it is if it is there already)."""
    target = data_dir / archive.folder
    if target.exists():
        archive.check(target)
        return target
    downloads = data_dir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    path = downloads / Path(archive.url.split("?")[0]).name
    if not path.exists():
        try:
            fetch(archive.url, path, progress)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            raise MissingData(
                f"cannot download {archive.url} ({err}); run this again to resume from "
                f"{path}.partial, or download it yourself and extract it into "
                f"{target.parent}/ (it unpacks to {target.name}/)"
            ) from err
    if archive.md5 is not None and md5(path) != archive.md5:
        path.unlink()
        raise UsageError(f"{archive.url} arrived corrupt (MD5 mismatch): run this again")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".extracting-", dir=target.parent) as temp:
        try:
            with tarfile.open(path) as tar:
                tar.extractall(temp, filter="data")
        except (tarfile.TarError, EOFError) as err:
            path.unlink()
            raise UsageError(f"{path} is not a whole archive ({err}): run this again") from err
        extracted = Path(temp) / target.name
        if not extracted.is_dir():
            path.unlink()
            raise UsageError(
                f"{path} does not unpack to {target.name}/, so it was deleted: is "
                f"{archive.url} the right file?"
            )
        try:
            archive.check(extracted)
        except UsageError as err:  # a stale or incomplete archive: never extracted again
            path.unlink()
            raise UsageError(f"{err}; {path} was deleted: run this again") from err
        extracted.replace(target)
    path.unlink()
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", choices=DATASETS)
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    args = parser.parse_args(argv)
    try:
        for archive in DATASETS[args.dataset]:
            print(f"{archive.url} → {install(archive, args.data_dir)}")
    except (MissingData, UsageError) as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
