"""The built wheel is what a user installs: it must carry the bundled config and its sample articles and
name every dependency (lxml_html_clean too), and once installed, `newswatch ingest && newswatch articles`
must work from any directory. `.ci/run` also installs it into a fresh venv with its dependencies."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, SEEDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("newswatch-*.whl")
    return built


def test_the_wheel_carries_the_bundled_config_seeds_and_dependencies(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    assert "newswatch/bundled/config.toml" in names
    assert {f"newswatch/bundled/seeds/{seed.name}" for seed in SEEDS.glob("*.txt")} <= names
    assert "tui/app.tcss" in names
    requires = [
        line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")
    ]
    assert any(req.startswith("lxml_html_clean") for req in requires), requires


def test_the_installed_wheel_ingests_its_samples_from_any_directory(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("NEWSWATCH_CONFIG", "NEWSWATCH_DB")}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "cfg"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    # The installed copy first on the path (the checkout's editable install is looked up after it), and the
    # dependencies from this environment.
    run = (
        "import sys; sys.path.insert(0, sys.argv[1]); import newswatch.cli as cli; "
        "assert cli.__file__.startswith(sys.argv[1]), cli.__file__; sys.exit(cli.main(sys.argv[2:]))"
    )
    for argv in (["ingest"], ["articles"]):
        result = subprocess.run(
            [sys.executable, "-c", run, str(target), *argv],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 5, result.stdout
    assert (tmp_path / "data" / "newswatch" / "newswatch.db").exists()
