"""stn.data.download: archives fetched (resumed where a try stopped), checked, extracted
whole or not at all; served here by a local HTTP server that honours Range."""

import hashlib
import http.server
import io
import tarfile
import threading

import pytest
from fake_svhn import write_fake_svhn

from stn.data.download import Archive, _check_svhn, install
from stn.errors import MissingData, UsageError


@pytest.fixture
def server():
    """``(base URL, files: {name: bytes}, ranges asked, options)``; options: ``no_length``
    (promise no length) and ``cut`` (the next response stops after this many bytes)."""
    files, ranges, options = {}, [], {"no_length": False, "cut": None}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            data = files.get(self.path.lstrip("/"))
            if data is None:
                self.send_error(404)
                return
            start = 0
            if "Range" in self.headers:
                ranges.append(self.headers["Range"])
                start = int(self.headers["Range"].split("=")[1].rstrip("-"))
                if start >= len(data):
                    self.send_error(416)
                    return
            self.send_response(206 if start else 200)
            if not options["no_length"]:
                self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            end = len(data) if options["cut"] is None else start + options["cut"]
            options["cut"] = None
            self.wfile.write(data[start:end])

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", files, ranges, options
    httpd.shutdown()


def _svhn_archive(tmp_path):
    write_fake_svhn(tmp_path / "src", {"train": 5, "extra": 0, "test": 0})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "SVHN" / "train", arcname="train")
    return buffer.getvalue()


def test_an_interrupted_download_resumes_and_extracts_checked(server, tmp_path):
    base, files, ranges, _ = server
    files["train.tar.gz"] = data = _svhn_archive(tmp_path)
    archive = Archive(base + "train.tar.gz", hashlib.md5(data).hexdigest(), "SVHN/train",
                      _check_svhn)  # fmt: skip
    downloads = tmp_path / "data" / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "train.tar.gz.partial").write_bytes(data[:1000])  # a try that stopped
    folder = install(archive, tmp_path / "data", progress=False)
    assert ranges == ["bytes=1000-"]
    assert folder == tmp_path / "data" / "SVHN" / "train"
    assert (folder / "digitStruct.mat").exists() and len(list(folder.glob("*.png"))) == 5
    assert list(downloads.iterdir()) == []  # the archive is gone once extracted
    assert sorted(p.name for p in (tmp_path / "data" / "SVHN").iterdir()) == ["train"]
    assert install(archive, tmp_path / "data") == folder  # there already: checked, kept


def test_a_corrupt_archive_is_refused_and_nothing_is_extracted(server, tmp_path):
    base, files, _, _ = server
    files["train.tar.gz"] = _svhn_archive(tmp_path)
    archive = Archive(base + "train.tar.gz", "0" * 32, "SVHN/train", _check_svhn)
    with pytest.raises(UsageError, match="arrived corrupt"):
        install(archive, tmp_path / "data", progress=False)
    assert not (tmp_path / "data" / "SVHN").exists()
    files["train.tar.gz"] = b"not a tar file"
    archive = Archive(base + "train.tar.gz", None, "SVHN/train", _check_svhn)
    with pytest.raises(UsageError, match="is not a whole archive"):
        install(archive, tmp_path / "data", progress=False)
    assert not any((tmp_path / "data" / "SVHN").iterdir())  # no half-extracted folder


def test_offline_it_says_how_to_resume_or_do_it_by_hand(server, tmp_path):
    base, _, _, _ = server
    archive = Archive(base + "missing.tar.gz", None, "SVHN/test", _check_svhn)
    with pytest.raises(MissingData, match=r"run this again to resume from .*missing\.tar\.gz"):
        install(archive, tmp_path / "data", progress=False)
    assert not (tmp_path / "data" / "SVHN" / "test").exists()


def test_a_transfer_cut_short_stays_partial_and_resumes(server, tmp_path):
    """Cut before the promised length, or with no length promised: never taken for whole."""
    base, files, ranges, options = server
    files["train.tar.gz"] = data = _svhn_archive(tmp_path)
    archive = Archive(base + "train.tar.gz", None, "SVHN/train", _check_svhn)
    partial = tmp_path / "data" / "downloads" / "train.tar.gz.partial"
    options["cut"] = 1000
    with pytest.raises(MissingData, match=r"ended at 1,000 of .* bytes\); run this again to res"):
        install(archive, tmp_path / "data", progress=False)
    assert partial.read_bytes() == data[:1000]
    options.update(no_length=True, cut=500)  # no length: asks again until the server says 416
    folder = install(archive, tmp_path / "data", progress=False)
    assert ranges == ["bytes=1000-", "bytes=1500-", f"bytes={len(data)}-"]
    assert len(list(folder.glob("*.png"))) == 5 and not partial.exists()


def test_an_archive_that_fails_its_check_is_deleted_with_the_reason(server, tmp_path):
    base, files, _, _ = server
    write_fake_svhn(tmp_path / "src", {"train": 3, "extra": 0, "test": 0})
    (tmp_path / "src" / "SVHN" / "train" / "2.png").unlink()  # an incomplete archive
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "SVHN" / "train", arcname="train")
    files["train.tar.gz"] = buffer.getvalue()
    archive = Archive(base + "train.tar.gz", None, "SVHN/train", _check_svhn)
    with pytest.raises(UsageError, match=r"2\.png is missing: the archive is incomplete; .* was "
                       r"deleted: run this again"):  # fmt: skip
        install(archive, tmp_path / "data", progress=False)
    assert list((tmp_path / "data" / "downloads").iterdir()) == []  # never extracted again
    assert not (tmp_path / "data" / "SVHN" / "train").exists()
