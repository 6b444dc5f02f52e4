"""The Dockerfile, parsed with BuildKit's own parser (the ``dockerfile`` package): multi-stage,
slim non-root runtime that runs any service by module, and stubs generated at build time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dockerfile  # type: ignore[import-not-found]

from tests.deploy.support import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def _commands() -> tuple[Any, ...]:
    commands: tuple[Any, ...] = dockerfile.parse_file(str(DOCKERFILE))
    return commands


def _stages() -> list[list[Any]]:
    stages: list[list[Any]] = []
    for command in _commands():
        if command.cmd == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(command)
    return stages


def _build_args() -> dict[str, str]:
    args = {}
    for command in _commands():
        if command.cmd == "ARG" and "=" in command.value[0]:
            name, _, value = command.value[0].partition("=")
            args[name] = value
    return args


def test_multi_stage_with_a_slim_python_runtime() -> None:
    stages = _stages()
    assert len(stages) >= 2
    base = stages[-1][0].value[0]
    for name, value in _build_args().items():
        base = base.replace(f"${{{name}}}", value)
    assert base.startswith("python:3.11-slim"), base
    copies_from_builder = [
        c for c in stages[-1] if c.cmd == "COPY" and any(f.startswith("--from=") for f in c.flags)
    ]
    assert copies_from_builder


def test_runtime_is_non_root_and_runs_any_service() -> None:
    final = _stages()[-1]
    users = [c.value[0] for c in final if c.cmd == "USER"]
    assert users and users[-1].split(":")[0] == "10001"
    entrypoints = [c for c in final if c.cmd == "ENTRYPOINT"]
    assert entrypoints[-1].json and list(entrypoints[-1].value) == ["python", "-m"]
    assert not [c for c in final if c.cmd == "CMD"], "the Deployment's args pick the service"
    env = " ".join(" ".join(c.value) for c in final if c.cmd == "ENV")
    assert "PYTHONPATH" in env and "/app/gen" in env
    assert "PYTHONDONTWRITEBYTECODE" in env  # read-only root filesystem


def test_stubs_are_generated_in_the_builder() -> None:
    runs = " ".join(" ".join(c.value) for c in _stages()[0] if c.cmd == "RUN")
    assert "grpc_tools.protoc" in runs
    assert "--grpc_python_out=gen" in runs


def test_copied_sources_exist_and_are_not_ignored() -> None:
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for command in _commands():
        if command.cmd != "COPY" or any(f.startswith("--from=") for f in command.flags):
            continue
        for source in command.value[:-1]:
            assert (ROOT / source).exists(), source
            assert f"!{Path(source).as_posix().rstrip('/')}" in {i.rstrip("/") for i in ignore}, (
                source
            )
