"""Uploaded files kept in the workspace by content hash, found again after a restart."""

from __future__ import annotations

from pathlib import Path

from segmentation.ingest.uploads import UploadStore, sha256


def test_a_saved_file_comes_back_by_its_digest_from_a_new_store(tmp_path: Path):
    data = b"user_id,text\nu1,great coffee\n"
    digest = UploadStore(tmp_path).save("reviews.csv", data)
    assert digest == sha256(data)
    kept = UploadStore(tmp_path).load(digest)  # a new object, as after a server restart
    assert (kept.name, kept.data, kept.digest, kept.roles) == ("reviews.csv", data, digest, {})


def test_the_column_mapping_is_kept_with_the_file(tmp_path: Path):
    store = UploadStore(tmp_path)
    digest = store.save("r.csv", b"a,b\n1,2\n")
    store.save_roles(digest, {"user": "a", "text": "b"})
    assert UploadStore(tmp_path).load(digest).roles == {"user": "a", "text": "b"}


def test_unknown_malformed_or_altered_digests_load_nothing(tmp_path: Path):
    store = UploadStore(tmp_path)
    digest = store.save("r.csv", b"a,b\n1,2\n")
    assert store.load("0" * 64) is None
    assert store.load("../../etc/passwd") is None
    assert store.load(digest.upper()) is None
    (tmp_path / digest).write_bytes(b"a,b\n9,9\n")  # bytes changed on disk: no longer this file
    assert store.load(digest) is None


def test_roles_for_a_file_that_is_not_kept_are_ignored(tmp_path: Path):
    store = UploadStore(tmp_path / "uploads")
    store.save_roles("f" * 64, {"text": "b"})
    assert not (tmp_path / "uploads").exists()
