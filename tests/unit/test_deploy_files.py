"""The files an operator copies from deploy/ (issue 16, item 1), checked as far as this machine can: it has no Docker
engine, so the compose file and the Dockerfile are held to the commands the reference deployment runs (which
tests/e2e/test_deploy_local.py runs for real); the systemd units go through `systemd-analyze verify`; the nginx
site an operator prints goes through `nginx -t`."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deploy.local import ROOT, nginx_main, service_commands

DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
VENV_EXE = "/opt/watchparty/.venv/bin/watchparty"


def _compose() -> dict[str, dict[str, object]]:
    services: dict[str, dict[str, object]] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    return services


def test_compose_runs_postgres_redis_nginx_three_apis_and_two_workers() -> None:
    services = _compose()
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker", "nginx"}
    assert services["api"]["deploy"] == {"replicas": 3}
    assert services["worker"]["deploy"] == {"replicas": 2}
    commands = service_commands()
    assert commands == {
        "migrate": ["watchparty", "migrate"],
        "api": ["watchparty", "serve", "--no-migrate"],
        "worker": ["watchparty", "worker"],
    }
    api_env = services["api"]["environment"]
    assert isinstance(api_env, dict)
    assert api_env["ENVIRONMENT"] == "production" and api_env["PORT"] == "8000"
    assert str(api_env["JWT_SECRET"]).startswith("${JWT_SECRET:?")  # no default secret: compose refuses to start


def test_the_dockerfile_runs_the_api_command_and_builds_nginx_with_the_rendered_site() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)$", text, re.MULTILINE)
    assert stages == ["web", "app", "nginx"]
    app_stage = text.split(" AS app\n", 1)[1].split("\nFROM ", 1)[0]
    cmd = re.search(r"^CMD (\[.*\])$", app_stage, re.MULTILINE)
    assert cmd is not None and json.loads(cmd.group(1)) == service_commands()["api"]
    assert "uv sync --frozen --no-dev" in app_stage and "npm ci" in text  # the lock files, nothing by hand
    assert "deploy.local --print-site" in app_stage
    nginx_stage = text.split(" AS nginx\n", 1)[1]
    assert "COPY --from=app /opt/watchparty/nginx-site.conf /etc/nginx/conf.d/default.conf" in nginx_stage


def _unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read(UNITS / name)
    return parser


def test_the_systemd_units_run_the_same_commands_and_pass_systemd_analyze(tmp_path: Path) -> None:
    commands = service_commands()
    for unit, command in (
        ("watchparty-migrate.service", commands["migrate"]),
        ("watchparty-api@.service", commands["api"]),
        ("watchparty-worker@.service", commands["worker"]),
    ):
        exec_start = shlex.split(_unit(unit)["Service"]["ExecStart"])
        assert exec_start == [VENV_EXE, *command[1:]], unit
    assert _unit("watchparty-api@.service")["Service"]["Restart"] == "always"
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing (Debian's systemd package has it)")
    # the units as installed, but with this checkout's executable, so that verify can check the commands exist
    exe = str(Path(sys.executable).with_name("watchparty"))
    for path in UNITS.glob("*.service"):
        text = (
            path.read_text()
            .replace(VENV_EXE, exe)
            .replace("WorkingDirectory=/opt/watchparty", f"WorkingDirectory={ROOT}")
        )
        (tmp_path / path.name).write_text(text)
    (tmp_path / "watchparty-api@8001.service").write_text((tmp_path / "watchparty-api@.service").read_text())
    (tmp_path / "watchparty-worker@1.service").write_text((tmp_path / "watchparty-worker@.service").read_text())
    names = ["watchparty-migrate.service", "watchparty-api@8001.service", "watchparty-worker@1.service"]
    ran = subprocess.run(
        [analyze, "verify", *names],
        cwd=tmp_path,
        env={"SYSTEMD_UNIT_PATH": f"{tmp_path}:", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ran.returncode, ran.stdout + ran.stderr) == (0, "")


def test_the_site_an_operator_prints_passes_nginx_t(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is missing (.ci/run installs it from Debian's packages)")
    logs = tmp_path / "logs"
    logs.mkdir()
    printed = subprocess.run(
        [sys.executable, "-m", "deploy.local", "--print-site", "--listen", "127.0.0.1:1", "--log-dir", str(logs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert not re.search(r"\$\{WATCHPARTY_[A-Z_]+\}", printed) and "server 127.0.0.1:8001" in printed
    site = tmp_path / "site.conf"
    site.write_text(printed)
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / "tmp" / kind).mkdir(parents=True)
    (tmp_path / "nginx.conf").write_text(nginx_main(tmp_path, site))
    ran = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True, check=False)
    assert ran.returncode == 0, ran.stderr
