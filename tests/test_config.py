"""config.toml: lookup order, the schema, and one-line errors that name the file, the key and the expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from newswatch.config import ConfigError, load_config, parse_duration, resolve_config_path, resolve_db_path
from tests.conftest import BUNDLED_CONFIG, run_cli


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_bundled_config_loads_with_sources_terms_and_topics() -> None:
    config = load_config(BUNDLED_CONFIG)
    assert [s.name for s in config.sources] == ["Samples"]
    assert Path(config.sources[0].location).parent.name == "seeds"
    assert {t.name for t in config.topics} == {"DPRK troops", "Russia sanctions"}
    assert all(t.alert for t in config.topics)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
colour = "red"
[[sources]]
name = "A"
path = "x/*.txt"
url = "https://example.org/feed"
[[sources]]
name = "B"
url = "ftp://example.org/feed"
interval = "soon"
[[sources]]
url = "https://example.org/2"
[topics.T]
query = 3
[alerts]
realert_sizes = "five"
""",
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    problems = raised.value.problems
    text = "\n".join(problems)
    assert all(problem.startswith(f"{path}: ") for problem in problems)
    assert all("\n" not in problem for problem in problems)
    assert "colour: unknown key" in text
    assert "sources[0]: expected exactly one of `path` or `url`" in text
    assert "sources[1].url: expected an http(s) URL" in text
    assert "sources[1].interval: expected a duration" in text
    assert "sources[2].name: required" in text
    assert "topics.T.query: expected a string, got an integer 3" in text
    assert "alerts.realert_sizes: expected a list" in text


def test_bad_topic_query_is_caught_at_load(tmp_path: Path) -> None:
    path = _write(tmp_path, '[topics."DPRK troops"]\nquery = "troops AND (deploy"\nalert = true\n')
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    [problem] = raised.value.problems
    assert problem.startswith(f'{path}: topics."DPRK troops".query: ')


def test_bad_config_exits_2_before_anything_is_ingested(tmp_path: Path, db_path: Path) -> None:
    path = _write(tmp_path, '[[sources]]\nname = "S"\npath = "*.txt"\n[topics.X]\nquery = "a AND"\n')
    (tmp_path / "one.txt").write_text("Title\n\nBody")
    result = run_cli("--config", str(path), "--db", str(db_path), "ingest")
    assert result.status == 2
    assert result.stdout == ""
    assert result.stderr.startswith("newswatch: ") and "topics.X.query" in result.stderr
    assert not db_path.exists()


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[[sources]\n")
    result = run_cli("--config", str(path), "sources")
    assert result.status == 2 and str(path) in result.stderr and "invalid TOML" in result.stderr


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing in the (isolated) user config dir: the bundled one, which in a checkout is the repository's.
    assert resolve_config_path(None).resolve() == BUNDLED_CONFIG.resolve()
    user = tmp_path / "xdg-config" / "newswatch" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text("")
    assert resolve_config_path(None) == user
    monkeypatch.setenv("NEWSWATCH_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_config_path(None) == tmp_path / "env.toml"
    assert resolve_config_path(str(tmp_path / "flag.toml")) == tmp_path / "flag.toml"

    config = load_config(_write(tmp_path, 'database = "data/news.db"\n'))
    assert resolve_db_path(None, config) == (tmp_path / "data" / "news.db").resolve()
    monkeypatch.setenv("NEWSWATCH_DB", str(tmp_path / "env.db"))
    assert resolve_db_path(None, config) == tmp_path / "env.db"
    assert resolve_db_path(str(tmp_path / "flag.db"), config) == tmp_path / "flag.db"
    monkeypatch.delenv("NEWSWATCH_DB")
    assert resolve_db_path(None, load_config(BUNDLED_CONFIG)).parent == tmp_path / "xdg-data" / "newswatch"


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("1h30m", 5400), ("2d", 172800), ("45s", 45), (60, 60)]
)
def test_durations(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "0m", "-5m", 0, True])
def test_bad_durations(bad: str | int) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)
