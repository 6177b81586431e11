"""Class 2: YAML alias bombs and recursive aliases end in one line, fast, in bounded memory.

Each file is read by the CLI in its own process under a 1.5 GiB address-space limit and a
time limit, so a regression (the bomb expanding again: 15 GiB and minutes before the fix)
fails at once instead of taking the machine.
"""

from __future__ import annotations

import resource
import subprocess

import pytest

from tests.bad_inputs.conftest import assert_one_error, cli, cli_process

MEMORY_LIMIT = 1536 * 2**20  # the CLI reading a path needs ~0.5 GiB of address space (numpy, scipy)


def _bomb(levels: int = 9, fan: int = 9) -> str:
    lines = [f"a0: &a0 [{', '.join(['0'] * fan)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * fan)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + f"\nfps: 24\nstart: {{position: *a{levels}, look_at: [0, 0, 0]}}\n"


def _limited():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _args(command: str, source, tmp_path) -> list:
    if command == "train":  # the same loader reads training configs
        return ["train", tmp_path / "no-scene", "--config", source]
    return ["path", "show", source]


@pytest.mark.parametrize("command", ["path", "train"])
def test_an_alias_bomb_is_refused_quickly_in_bounded_memory(tmp_path, command):
    source = tmp_path / "bomb.yaml"
    source.write_text(_bomb())
    process = cli_process(*_args(command, source, tmp_path), preexec_fn=_limited)
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("reading the YAML did not finish within 60 s")
    assert_one_error(subprocess.CompletedProcess([], process.returncode, stdout, stderr), 2, str(source),
                     "alias bomb")


@pytest.mark.parametrize("text,says", [
    ("fps: 24\nstart: &a {position: [0, 0, 0], look_at: *a}\n", "recursive alias"),
    ("start: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
], ids=["recursive", "deep"])
@pytest.mark.parametrize("command", ["path", "train"])
def test_self_referring_and_deep_yaml_is_one_line(tmp_path, text, says, command):
    source = tmp_path / "path.yaml"
    source.write_text(text)
    assert_one_error(cli(*_args(command, source, tmp_path)), 2, str(source), says)
