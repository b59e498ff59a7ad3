"""What ``deploy/`` gives an operator holds together: the image installs exactly as the
README says, nginx accepts the site with its real TLS part, compose runs what the README
describes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.cluster import ROOT, SITE, nginx_config

README = ROOT / "README.md"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def readme_install_steps() -> list[str]:
    """The commands of the README's "Install on a server" block."""
    text = README.read_text()
    found = re.search(r"Install on a server[^\n]*\n+```sh\n(.*?)```", text, flags=re.S)
    assert found, "the README has no install block under 'Install on a server'"
    return [line.strip() for line in found.group(1).splitlines() if line.strip()]


def test_the_image_is_built_with_exactly_the_readmes_install_steps() -> None:
    runs = [
        line.removeprefix("RUN ").strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("RUN ")
    ]
    assert runs == readme_install_steps()
    assert 'CMD [".venv/bin/shopbot", "run"]' in (ROOT / "Dockerfile").read_text()


@pytest.mark.skipif(not Path(NGINX).exists(), reason="needs nginx (apt-get install -y nginx)")
def test_nginx_accepts_the_site_with_its_tls_part(tmp_path: Path) -> None:
    """``nginx -t`` on the site as shipped, its certificate paths pointed at a self-signed
    certificate made here."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=shop.example.com",
            "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    site = SITE.read_text().replace("/etc/letsencrypt/live/shop.example.com", str(tmp_path))
    # Privileged ports cannot be bound by every CI user; -t checks, binds nothing.
    (tmp_path / "site.conf").write_text(site)
    config = nginx_config(tmp_path, [8081, 8082, 8083])
    checked = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-c", str(config)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


def test_the_site_sends_only_the_two_webhooks_on_with_limits() -> None:
    site = SITE.read_text()
    locations = re.findall(r"location (= )?(\S+) \{", site)
    assert [path for _exact, path in locations] == ["/telegram/webhook", "/yookassa/webhook", "/"]
    assert "client_max_body_size 1m;" in site and "client_max_body_size 64k;" in site
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in site
    assert "TRUSTED_PROXIES" in site
    upstream = (ROOT / "deploy" / "nginx" / "shopbot-upstream.conf").read_text()
    assert upstream.count("server 127.0.0.1:") == 3


def test_compose_runs_three_replicas_migrated_once_behind_nginx() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "bot1", "bot2", "bot3", "nginx"} <= set(services)
    assert services["migrate"]["command"] == [".venv/bin/shopbot", "migrate"]
    for name in ("bot1", "bot2", "bot3"):
        bot = services[name]
        assert bot["environment"]["REPLICAS"] == "3"
        assert bot["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert bot["environment"]["REDIS_URL"].startswith("redis://")
        assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for volume in services["nginx"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./") and "tls" not in source:
            assert (ROOT / source).is_file(), source
    upstream = (ROOT / "deploy" / "nginx" / "compose-upstream.conf").read_text()
    assert [f"bot{n}:8081" in upstream for n in (1, 2, 3)] == [True] * 3


def test_the_systemd_unit_runs_a_replica_per_port() -> None:
    unit = (ROOT / "deploy" / "systemd" / "shopbot@.service").read_text()
    assert "ExecStart=/opt/shopbot/.venv/bin/shopbot run" in unit
    assert "Environment=WEB_PORT=%i" in unit
    assert "KillSignal=SIGTERM" in unit
