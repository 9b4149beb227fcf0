"""The attachments storage by settings: the filesystem under PARLEY_DATA_DIR by default,
django-storages' S3 backend (any S3-compatible endpoint) with ATTACHMENTS_STORAGE=s3.
Configuration only: nothing here talks to a store."""

from __future__ import annotations

from django.utils.module_loading import import_string

from config.settings import DATA_DIR, _attachments_storage


def test_the_default_is_the_filesystem_under_the_data_dir(monkeypatch):
    monkeypatch.delenv("ATTACHMENTS_STORAGE", raising=False)
    conf = _attachments_storage()
    assert conf["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert conf["OPTIONS"]["location"] == str(DATA_DIR / "attachments")


def test_s3_by_environment(monkeypatch):
    monkeypatch.setenv("ATTACHMENTS_STORAGE", "s3")
    monkeypatch.setenv("ATTACHMENTS_S3_BUCKET", "parley-files")
    monkeypatch.setenv("ATTACHMENTS_S3_ENDPOINT_URL", "https://minio.internal:9000")
    monkeypatch.setenv("ATTACHMENTS_S3_REGION", "eu-west-3")
    monkeypatch.setenv("ATTACHMENTS_S3_ACCESS_KEY", "AKIAEXAMPLE")
    monkeypatch.setenv("ATTACHMENTS_S3_SECRET_KEY", "secret")
    conf = _attachments_storage()
    storage = import_string(conf["BACKEND"])(**conf["OPTIONS"])
    assert type(storage).__name__ == "S3Storage"
    assert (storage.bucket_name, storage.endpoint_url, storage.region_name) == (
        "parley-files",
        "https://minio.internal:9000",
        "eu-west-3",
    )
    assert storage.default_acl == "private" and storage.file_overwrite is False
    assert storage.location == "attachments"
