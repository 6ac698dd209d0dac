"""Bad input, the way people really hand it over (tests/bad_inputs/): one sentence, exit 2, no traceback.

Each file gets the same three checks: ``etcdlab.load`` raises a ManifestError whose text names
the file (and the line where there is one) on a single line; the ``etcdlab`` command run as a
process exits 2 and prints exactly that one line on stderr; and nothing takes long.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

import etcdlab
from etcdlab.errors import FlagError, ManifestError
from etcdlab.sources.safe_yaml import MAX_BYTES

HERE = Path(__file__).resolve().parent / "bad_inputs"
ROOT = HERE.parent.parent

#: file -> (words the message must hold, the line it must name or None when there is no line)
EXPECTED: dict[str, tuple[str, int | None]] = {
    "empty.yaml": ("is empty", None),
    "comments-only.yaml": ("holds no Pod", None),
    "gzipped.yaml": ("is gzip-compressed; gunzip it first", None),
    "utf16.yaml": ("is UTF-16 text", None),
    "latin1.yaml": ("is not UTF-8 text", 11),
    "describe-output.yaml": ("is not valid YAML (mapping values are not allowed here)", 9),
    "tabs.yaml": ("is not valid YAML (found character '\\t' that cannot start any token)", 7),
    "yaml-list.yaml": ("holds a list, not a Kubernetes object", 1),
    "configmap.yaml": ("is not a Pod (it has kind 'ConfigMap')", 12),
    "pod-without-command.yaml": ("etcd has no command", 8),
    "command-string.yaml": ("spec.containers[0].command must be a list of strings, not a string", 14),
    "command-number.yaml": ("item 19 of the command is int 10000, not a string", 34),
    "client-cert-auth-yes.yaml": ("--client-cert-auth=yes is not a boolean", 18),
    "bad-url.yaml": ("--etcd-servers: 'https//10.128.15.227:2379' is not a URL", 25),
    "truncated.yaml": ("is truncated output (it contains a --TRUNCATED-- line)", 24),
    "billion-laughs.yaml": ("uses more than 64 YAML aliases", 14),
    "alias-chain.yaml": ("when its YAML aliases are written out", 1),
    "nested.yaml": ("is nested too deeply", None),
    "nested-pod.yaml": ("is nested more than 100 levels deep", 3),
    "bad.json": ("is not valid JSON (Expecting property name enclosed in double quotes)", 86),
    "trailing-comma.json": ("is not valid JSON", 15),
    "python-tag.yaml": ("could not determine a constructor for the tag", 4),
    "get-po-unauthorized.txt": ("is not a row of kubectl get po -o wide", 1),
}


def test_the_corpus_and_the_table_agree():
    assert sorted(p.name for p in HERE.iterdir()) == sorted(EXPECTED)


def check_message(exc: BaseException, path: Path, words: str, line: int | None) -> str:
    text = str(exc)
    assert isinstance(exc, ManifestError), repr(exc)
    assert "\n" not in text and "\r" not in text, text
    assert len(text) < 300, text
    assert text.endswith("."), text
    where = f"{path}:{line}: " if line else f"{path}: "
    assert text.startswith(where), text
    assert words in text, text
    assert exc.file == str(path) and exc.line == line
    return text


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_load_raises_one_sentence_naming_file_and_line(name):
    path = HERE / name
    words, line = EXPECTED[name]
    t0 = time.perf_counter()
    with pytest.raises(ManifestError) as info:
        etcdlab.load(path)
    elapsed = time.perf_counter() - t0
    check_message(info.value, path, words, line)
    # Bounded, not fast: an expanded bomb takes minutes or all memory; a refused one takes
    # milliseconds. 5 s leaves room for a loaded CI machine (speed itself is not tested here).
    assert elapsed < 5.0, f"{name} took {elapsed:.2f} s"


@pytest.mark.parametrize("name", ["billion-laughs.yaml", "alias-chain.yaml"])
def test_alias_bombs_are_refused_fast_as_text_too(name):
    text = (HERE / name).read_text()
    t0 = time.perf_counter()
    with pytest.raises(ManifestError, match="alias"):
        etcdlab.load_text(text, name)
    assert time.perf_counter() - t0 < 5.0  # refused before expansion (see above)


def test_flag_errors_are_manifest_errors_with_the_flag_named():
    with pytest.raises(FlagError) as info:
        etcdlab.load(HERE / "bad-url.yaml")
    assert "--etcd-servers" in str(info.value)


def test_a_20_mb_file_is_refused_without_being_parsed(tmp_path):
    path = tmp_path / "dump.yaml"
    chunk = b"- --flag=" + b"x" * 1014 + b"\n"
    with path.open("wb") as fh:
        for _ in range(20 * 1024):
            fh.write(chunk)
    assert path.stat().st_size == 20 * 1024 * 1024 > MAX_BYTES
    t0 = time.perf_counter()
    with pytest.raises(ManifestError) as info:
        etcdlab.load(path)
    assert time.perf_counter() - t0 < 5.0  # refused from its size, without parsing 20 MB
    check_message(info.value, path, f"is {20 * 1024 * 1024} bytes, more than the {MAX_BYTES}", None)


def test_a_directory_with_a_bad_file_names_that_file(tmp_path):
    from etcdlab import kubeadm

    (tmp_path / "etcd.yaml").write_text(kubeadm.to_yaml(kubeadm.etcd_manifest("m", "10.0.0.1")))
    (tmp_path / "kube-apiserver.yaml").write_bytes((HERE / "bad-url.yaml").read_bytes())
    with pytest.raises(ManifestError) as info:
        etcdlab.load(tmp_path)
    check_message(info.value, tmp_path / "kube-apiserver.yaml", "--etcd-servers", 25)


# -- the command line ---------------------------------------------------------------------------


def cli_command() -> str:
    """The sub-command that loads a PATH: ``inspect`` (the lead's), else ``doctor``."""
    commands = ROOT / "etcdlab" / "cli"
    for name in ("inspect", "doctor"):
        if (commands / f"{name}.py").exists():
            return name
    pytest.skip("neither etcdlab inspect nor etcdlab doctor exists yet")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etcdlab", *args], capture_output=True, text=True,
                          timeout=30, cwd=HERE)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_exits_2_with_exactly_one_line(name):
    words, line = EXPECTED[name]
    proc = run_cli(cli_command(), name)  # relative to tests/bad_inputs, as a user types it
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    where = f"{name}:{line}: " if line else f"{name}: "
    assert lines[0].startswith(f"etcdlab: {where}") and words in lines[0], lines[0]


def test_cli_with_a_missing_path_and_a_20_mb_file(tmp_path):
    command = cli_command()
    proc = run_cli(command, str(tmp_path / "missing.yaml"))
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1 and "does not exist" in proc.stderr
    big = tmp_path / "big.yaml"
    with big.open("wb") as fh:
        fh.truncate(20 * 1024 * 1024)
    proc = run_cli(command, str(big))
    assert proc.returncode == 2 and proc.stderr.splitlines() == [
        f"etcdlab: {big}: is {20 * 1024 * 1024} bytes, more than the {MAX_BYTES} etcdlab reads; "
        "give the manifest itself, not a dump."]
