"""The reference deployment, on this machine: nginx in front of 3 API processes and 2 job workers, on one
PostgreSQL and one Redis, everything on loopback.

    .tools/bin/uv run python -m deploy.local            # start it all; Ctrl+C (or SIGTERM) stops it all
    .tools/bin/uv run python -m deploy.local --stop     # stop the one running from the same --dir

It runs what an operator runs: the site from deploy/nginx/watchparty.conf.template, and the commands of the
migrate, api and worker services of deploy/compose.yaml (read from that file), each process restarted a second
after it exits, as the systemd units (Restart=always) and compose (restart: unless-stopped) do. It writes
`state.json` in --dir (the URL and every process's pid, rewritten on each restart), the processes' logs under
`logs/`, and nginx's access log with the upstream that served each request.

DATABASE_URL (PostgreSQL; the database is made if it does not exist) and REDIS_URL come from the environment, with
loopback defaults; any other setting passes through to every process (SMTP_HOST, KEY_PREFIX, ...).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import string
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "deploy" / "compose.yaml"
SITE_TEMPLATE = ROOT / "deploy" / "nginx" / "watchparty.conf.template"
DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/watchparty_local"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
RESTART_AFTER_S = 1.0  # RestartSec=1 in the units
STOP_WAIT_S = 20.0  # TimeoutStopSec in the API unit


def service_commands() -> dict[str, list[str]]:
    """The `command` of compose's migrate, api and worker services: what each kind of process runs."""
    import yaml  # a dev dependency: the deployment runs from a checkout; the site renders without it

    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return {name: list(services[name]["command"]) for name in ("migrate", "api", "worker")}


def body_limits_block(settings: Any) -> str:
    """nginx's side of the app's body limits (watchparty/app.py:body_limits): the same bytes accepted, route by
    route, and over them the app's own 413 body (core/middleware.py:too_large_body)."""
    from watchparty.app import body_limits
    from watchparty.core.middleware import too_large_body

    def refusal(name: str, stated: int) -> str:
        body = too_large_body(stated).decode()
        assert "'" not in body  # it goes in a single-quoted nginx string
        return f"    location @{name} {{\n        default_type application/json;\n        return 413 '{body}';\n    }}"

    lines = [
        f"    client_max_body_size {settings.max_body_bytes};",
        "    error_page 413 = @too_large;",
        refusal("too_large", settings.max_body_bytes),
    ]
    for i, (pattern, (accepted, stated)) in enumerate(body_limits(settings).items(), 1):
        lines += [
            f"    location ~ ^{pattern}$ {{",
            f"        client_max_body_size {accepted};",
            f"        error_page 413 = @too_large_{i};",
            "        error_page 502 504 = @unavailable;",
            "        proxy_pass http://watchparty_api;",
            "    }",
            refusal(f"too_large_{i}", stated),
        ]
    return "\n".join(lines)


def site_values(
    settings: Any, upstreams: list[str], listen: str, static_dir: Path, media_dir: Path, log_dir: Path
) -> dict[str, str]:
    import orjson

    from watchparty.core.responses import UNAVAILABLE_MESSAGE

    unavailable = {"success": False, "error": {"code": "service_unavailable", "message": UNAVAILABLE_MESSAGE}}
    return {
        "WATCHPARTY_UPSTREAMS": " ".join(f"server {u} max_fails=1 fail_timeout=2s;" for u in upstreams),
        "WATCHPARTY_LISTEN": listen,
        "WATCHPARTY_STATIC_DIR": str(static_dir),
        "WATCHPARTY_MEDIA_DIR": str(media_dir),
        "WATCHPARTY_LOG_DIR": str(log_dir),
        "WATCHPARTY_UNAVAILABLE_BODY": orjson.dumps(unavailable).decode(),
        "WATCHPARTY_BODY_LIMITS": body_limits_block(settings),
    }


def render_site(values: dict[str, str]) -> str:
    """The site with every ${WATCHPARTY_...} filled in; nginx's own $variables are left as they are."""
    text = string.Template(SITE_TEMPLATE.read_text()).safe_substitute(values)
    missing = sorted(set(re.findall(r"\$\{(WATCHPARTY_[A-Z_]+)\}", text)))
    if missing:
        raise SystemExit(f"the nginx template has placeholders this deployment does not fill: {missing}")
    return text


def nginx_main(run: Path, site: Path) -> str:
    """nginx.conf for a deployment that lives in one folder and runs in the foreground, as any user."""
    user = "user root root;\n" if os.geteuid() == 0 else ""  # as root, workers would read files as nobody
    temp = "\n".join(f"    {kind}_temp_path {run / 'tmp' / kind};" for kind in ("client_body", "proxy", "fastcgi"))
    temp += "\n" + "\n".join(f"    {kind}_temp_path {run / 'tmp' / kind};" for kind in ("uwsgi", "scgi"))
    return (
        f"{user}daemon off;\nworker_processes 2;\npid {run / 'nginx.pid'};\n"
        f"error_log {run / 'logs' / 'nginx-error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        "    default_type application/octet-stream;\n"
        "    sendfile on;\n"
        "    tcp_nopush on;\n"
        "    keepalive_timeout 65s;\n"
        f"{temp}\n"
        f"    include {site};\n"
        "}\n"
    )


@dataclass
class Child:
    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    stop_signal: int = signal.SIGTERM
    proc: subprocess.Popen[bytes] | None = None
    exited_at: float | None = None
    starts: int = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl+C reaches the supervisor, which stops each child in order
        )
        self.exited_at = None
        self.starts += 1


@dataclass
class Deployment:
    run: Path
    port: int
    apis: int
    workers: int
    children: list[Child] = field(default_factory=list)
    stopping: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def prepare(self) -> dict[str, str]:
        from watchparty.config import Settings

        for sub in ("logs", "tmp", "media", "staging", "outbox"):
            (self.run / sub).mkdir(parents=True, exist_ok=True)
        secret_file = self.run / "jwt_secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(48))
            secret_file.chmod(0o600)
        env = {
            **os.environ,
            "ENVIRONMENT": "production",
            "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_DATABASE),
            "REDIS_URL": os.environ.get("REDIS_URL", DEFAULT_REDIS),
            "JWT_SECRET": os.environ.get("JWT_SECRET", secret_file.read_text().strip()),
            "PUBLIC_URL": os.environ.get("PUBLIC_URL", self.url),
            "MEDIA_DIR": str(self.run / "media"),
            "STAGING_DIR": str(self.run / "staging"),
            "MAIL_OUTBOX_DIR": str(self.run / "outbox"),
            "FORWARDED_ALLOW_IPS": "127.0.0.1",  # nginx, on this host
            "WORKER_IN_PROCESS": "false",
        }
        if not env["DATABASE_URL"].startswith("postgresql"):
            raise SystemExit(
                "the reference deployment runs on PostgreSQL: set DATABASE_URL to a postgresql+asyncpg URL"
            )
        _ensure_database(env["DATABASE_URL"])
        fields: dict[str, Any] = {k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields}
        settings = Settings(**fields)
        site = self.run / "watchparty.conf"
        ports = [self.port + 1 + i for i in range(self.apis)]
        logs = self.run / "logs"
        static = ROOT / "watchparty" / "web" / "static"
        upstreams = [f"127.0.0.1:{p}" for p in ports]
        values = site_values(settings, upstreams, f"127.0.0.1:{self.port}", static, self.run / "media", logs)
        site.write_text(render_site(values))
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.run / "tmp" / kind).mkdir(parents=True, exist_ok=True)
        (self.run / "nginx.conf").write_text(nginx_main(self.run, site))
        commands = service_commands()
        exe = str(Path(sys.executable).with_name("watchparty"))
        resolved = {name: [exe if cmd[0] == "watchparty" else cmd[0], *cmd[1:]] for name, cmd in commands.items()}
        for i, port in enumerate(ports, 1):
            api_env = {**env, "HOST": "127.0.0.1", "PORT": str(port)}
            self.children.append(Child(f"api-{i}", resolved["api"], api_env, logs / f"api-{i}.log"))
        for i in range(1, self.workers + 1):
            self.children.append(Child(f"worker-{i}", resolved["worker"], env, logs / f"worker-{i}.log"))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            raise SystemExit("nginx is not installed: apt-get install nginx")
        check = subprocess.run([nginx, "-t", "-q", "-c", str(self.run / "nginx.conf")], capture_output=True, text=True)
        if check.returncode != 0:
            raise SystemExit(f"nginx refused the rendered site:\n{check.stderr}")
        self.children.append(
            Child("nginx", [nginx, "-c", str(self.run / "nginx.conf")], env, logs / "nginx.log", signal.SIGQUIT)
        )
        migrate = subprocess.run(resolved["migrate"], cwd=ROOT, env=env, capture_output=True, text=True)
        if migrate.returncode != 0:
            raise SystemExit(f"migrations failed:\n{migrate.stdout}{migrate.stderr}")
        return env

    def write_state(self) -> None:
        state = {
            "url": self.url,
            "supervisor": os.getpid(),
            "processes": {c.name: c.proc.pid for c in self.children if c.proc is not None},
            "starts": {c.name: c.starts for c in self.children},
        }
        tmp = self.run / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.run / "state.json")

    def serve(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        for child in self.children:
            child.start()
        self.write_state()
        # every API process on its own port, then nginx: until then nginx would mark the slow ones as failed
        urls = [f"http://127.0.0.1:{c.env['PORT']}/api/health" for c in self.children if c.name.startswith("api-")]
        if not all(_wait_healthy(url, 90) for url in [*urls, self.url + "/api/health"]):
            print("the deployment did not become healthy; see the logs in", self.run / "logs", file=sys.stderr)
            self.stop()
            return 1
        names = ", ".join(c.name for c in self.children)
        print(f"WatchParty (reference deployment) at {self.url}/ : {names}; logs in {self.run / 'logs'}", flush=True)
        while not self.stopping:
            changed = False
            for child in self.children:
                assert child.proc is not None
                if child.proc.poll() is None:
                    continue
                if child.exited_at is None:
                    child.exited_at = time.monotonic()
                    print(f"{child.name} exited with {child.proc.returncode}; restarting it", flush=True)
                    # what is left of it (an API process's own workers) goes too, as systemd ends a unit's cgroup
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(child.proc.pid, signal.SIGKILL)
                elif time.monotonic() - child.exited_at >= RESTART_AFTER_S:
                    child.start()
                    changed = True
            if changed:
                self.write_state()
            time.sleep(0.1)
        self.stop()
        return 0

    def _on_signal(self, _sig: int, _frame: object) -> None:
        self.stopping = True

    def stop(self) -> None:
        """nginx first (no new requests), then the API processes and workers, each given STOP_WAIT_S to finish."""
        order = [c for c in self.children if c.name == "nginx"] + [c for c in self.children if c.name != "nginx"]
        for child in order:
            if child.proc is not None and child.proc.poll() is None:
                child.proc.send_signal(child.stop_signal)
        deadline = time.monotonic() + STOP_WAIT_S
        for child in order:
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
        (self.run / "state.json").unlink(missing_ok=True)
        print("stopped", flush=True)


def _ensure_database(url: str) -> None:
    """Make the deployment's database if it does not exist (a fresh machine has only `postgres`)."""
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    target = make_url(url)

    async def go() -> None:
        admin = await asyncpg.connect(
            host=target.host or "127.0.0.1",
            port=target.port or 5432,
            user=target.username or "postgres",
            password=target.password,
            database="postgres",
        )
        try:
            exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", target.database)
            if not exists:
                await admin.execute(f'CREATE DATABASE "{target.database}"')
        finally:
            await admin.close()

    asyncio.run(go())


def _wait_healthy(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - our own loopback URL
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def _stop_running(run: Path) -> int:
    state_file = run / "state.json"
    if not state_file.exists():
        print(f"no deployment is running from {run}", file=sys.stderr)
        return 1
    pid = int(json.loads(state_file.read_text())["supervisor"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_S + 5
    while time.monotonic() < deadline and state_file.exists():
        time.sleep(0.1)
    return 0 if not state_file.exists() else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=ROOT / "var" / "deploy", help="where it keeps its files")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port; the APIs take the next ones")
    parser.add_argument("--apis", type=int, default=3, help="API processes (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="job workers (default 2)")
    parser.add_argument("--stop", action="store_true", help="stop the deployment running from --dir")
    parser.add_argument("--print-site", action="store_true", help="print the nginx site for the options below")
    parser.add_argument("--upstream", action="append", help="with --print-site: an API process, host:port")
    parser.add_argument("--listen", default="80", help="with --print-site: nginx's listen address")
    parser.add_argument("--static-dir", type=Path, default=ROOT / "watchparty" / "web" / "static")
    parser.add_argument("--media-dir", type=Path, default=Path("/var/lib/watchparty/media"))
    parser.add_argument("--log-dir", type=Path, default=Path("/var/log/nginx"))
    args = parser.parse_args(argv)
    run = args.dir.resolve()
    if args.print_site:  # the limits are those of this environment's settings (MAX_BODY_BYTES, ...)
        from watchparty.config import Settings

        upstreams = args.upstream or ["127.0.0.1:8001", "127.0.0.1:8002", "127.0.0.1:8003"]
        values = site_values(Settings(), upstreams, args.listen, args.static_dir, args.media_dir, args.log_dir)
        print(render_site(values), end="")
        return 0
    if args.stop:
        return _stop_running(run)
    deployment = Deployment(run, args.port, args.apis, args.workers)
    deployment.prepare()
    return deployment.serve()


if __name__ == "__main__":
    sys.exit(main())
