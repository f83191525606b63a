"""docker-compose.yml and the Dockerfile match the code (Docker itself does not run here).

Checks that the services exist, that every ``DIGITIZE_*`` variable is a field of ``Settings`` and the
configured values validate, that commands parse with the real CLI parser, that every long-running
service has a healthcheck and waits for healthy dependencies, and that workers can be scaled.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from digitize.config import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
APP_SERVICES = ("api", "worker", "watch")
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?+][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...] form
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def interpolate(value: str) -> str:
    """Replace ``${VAR...}`` with a placeholder, as docker compose would with a value set."""
    return INTERPOLATION.sub(lambda m: f"x{m.group(1).lower()}", value)


def command_of(service: dict[str, Any]) -> list[str]:
    cmd = service["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)


def one_shot(services: dict[str, Any]) -> set[str]:
    """Services others wait for to *complete* (e.g. bucket creation)."""
    names = set()
    for svc in services.values():
        for dep, cond in (svc.get("depends_on") or {}).items():
            if isinstance(cond, dict) and cond.get("condition") == "service_completed_successfully":
                names.add(dep)
    return names


def subcommands(parser: argparse.ArgumentParser) -> set[str]:
    return {name for a in parser._actions if isinstance(a, argparse._SubParsersAction) for name in a.choices}


def test_services_exist(services: dict[str, Any]) -> None:
    assert {"minio", "createbuckets", "redis", "postgres", "api", "worker"} <= set(services)
    assert services["createbuckets"]["image"].startswith("minio/mc")
    assert services["minio"]["image"].startswith("minio/minio")


def test_every_digitize_variable_is_a_setting() -> None:
    fields = set(Settings.model_fields)
    used = set(re.findall(r"\bDIGITIZE_([A-Z0-9_]+)", COMPOSE.read_text()))
    assert used, "the compose file configures nothing"
    unknown = sorted(name for name in used if name.lower() not in fields)
    assert not unknown, f"DIGITIZE_* variables that Settings does not read: {unknown}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_settings_validate_and_point_at_the_services(services: dict[str, Any], name: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: interpolate(v) for k, v in env_of(services[name]).items()}
    for key in [k for k in os.environ if k.startswith("DIGITIZE_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # pydantic validates every value's type and range
    assert settings.object_store == "s3"
    assert settings.index_url.startswith("postgresql+psycopg://")
    assert urlsplit(settings.index_url).hostname in services
    assert settings.s3_endpoint.split(":")[0] in services
    assert urlsplit(settings.redis_url).hostname in services
    assert settings.s3_access_key and settings.s3_secret_key
    bucket_env = env_of(services["createbuckets"])["BUCKET"]
    assert interpolate(bucket_env) == env["DIGITIZE_S3_BUCKET"]  # the bucket created is the bucket used


@pytest.mark.parametrize(("name", "subcommand"), [("api", "serve"), ("worker", "worker"), ("watch", "watch")])
def test_commands_are_cli_subcommands(services: dict[str, Any], name: str, subcommand: str) -> None:
    from digitize.cli import build_parser

    cmd = command_of(services[name])
    assert cmd[0] == "digitize" and cmd[1] == subcommand
    parser = build_parser()
    assert subcommand in subcommands(parser), f"`digitize {subcommand}` is missing"
    args = parser.parse_args(cmd[1:])  # exits (fails the test) on an unknown option
    assert args.command == subcommand


def test_watch_queues_and_keeps_its_state_on_a_volume(compose: dict[str, Any], services: dict[str, Any]) -> None:
    from digitize.cli import build_parser

    watch = services["watch"]
    args = build_parser().parse_args(command_of(watch)[1:])
    assert args.enqueue and args.done_dir and args.failed_dir
    mounts = {v.rsplit(":", 1)[1]: v.rsplit(":", 1)[0] for v in watch["volumes"]}
    archive = interpolate(env_of(watch)["DIGITIZE_ARCHIVE"])
    assert mounts[archive] in compose["volumes"]  # the state survives a new container
    scans = next(m for m in mounts if str(args.folder).startswith(m + "/"))
    assert str(args.done_dir).startswith(scans + "/") and ".alive" in " ".join(watch["healthcheck"]["test"])
    assert "deploy" not in watch  # one watcher per folder


def test_api_listens_where_its_healthcheck_and_port_look(services: dict[str, Any]) -> None:
    api = services["api"]
    cmd = command_of(api)
    port = cmd[cmd.index("--port") + 1]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert f":{port}/healthz" in " ".join(api["healthcheck"]["test"])
    assert any(str(p).endswith(f":{port}") for p in api["ports"])


def test_healthchecks_everywhere(services: dict[str, Any]) -> None:
    shots = one_shot(services)
    assert shots == {"createbuckets"}
    for name, svc in services.items():
        if name in shots:
            assert svc.get("restart") == "no", f"{name} runs once"
            continue
        test = (svc.get("healthcheck") or {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"


def test_dependencies_wait_for_health(services: dict[str, Any]) -> None:
    shots = one_shot(services)
    for name, svc in services.items():
        deps = svc.get("depends_on") or {}
        assert isinstance(deps, dict), f"{name}: depends_on must state conditions"
        for dep, cond in deps.items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            wanted = "service_completed_successfully" if dep in shots else "service_healthy"
            assert cond.get("condition") == wanted, f"{name} -> {dep}"
    for name in APP_SERVICES:
        assert {"minio", "createbuckets", "redis", "postgres"} <= set(services[name]["depends_on"])


def test_workers_scale(services: dict[str, Any]) -> None:
    worker = services["worker"]
    for key in ("container_name", "hostname", "ports"):
        assert key not in worker, f"worker.{key} prevents --scale worker=N"
    # every replica identifies itself in its healthcheck, none by a fixed name
    assert "gethostname" in " ".join(worker["healthcheck"]["test"])


def test_app_image_is_built_from_the_dockerfile(services: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        assert services[name].get("build") in (".", {"context": "."})
        assert services[name]["image"] == services["api"]["image"]
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim-bookworm\s*$", text, re.M)
    for package in ("tesseract-ocr", "tesseract-ocr-vie", "poppler-utils"):
        assert re.search(rf"\s{re.escape(package)}(\s|$)", text), package
    assert re.search(r"pip install \.", text)
    for copied in re.findall(r"^COPY\s+(.+?)\s+\S+\s*$", text, re.M):
        for src in copied.split():
            assert (ROOT / src).exists(), f"Dockerfile copies missing {src}"


def test_the_api_queues_uploads_for_the_workers(services: dict[str, Any]) -> None:
    api, worker = env_of(services["api"]), env_of(services["worker"])
    assert Settings(**{k[len("DIGITIZE_"):].lower(): interpolate(v) for k, v in api.items()
                       if k.startswith("DIGITIZE_")}).api_queue is True
    # the rest of the API's settings are the workers' (same store, index and queues)
    assert {k: v for k, v in api.items() if k != "DIGITIZE_API_QUEUE"} == \
        {k: v for k, v in worker.items() if k.startswith("DIGITIZE_")}
