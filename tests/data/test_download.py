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
    """``(base URL, files: {name: bytes}, ranges asked)``."""
    files, ranges = {}, []

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
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            self.wfile.write(data[start:])

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", files, ranges
    httpd.shutdown()


def _svhn_archive(tmp_path):
    write_fake_svhn(tmp_path / "src", {"train": 5, "extra": 0, "test": 0})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "SVHN" / "train", arcname="train")
    return buffer.getvalue()


def test_an_interrupted_download_resumes_and_extracts_checked(server, tmp_path):
    base, files, ranges = server
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
    base, files, _ = server
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
    base, _, _ = server
    archive = Archive(base + "missing.tar.gz", None, "SVHN/test", _check_svhn)
    with pytest.raises(MissingData, match=r"run this again to resume from .*missing\.tar\.gz"):
        install(archive, tmp_path / "data", progress=False)
    assert not (tmp_path / "data" / "SVHN" / "test").exists()
