"""The TUI at scale: time to first useful paint, keystroke-to-list latency in search, memory.

    python -m testkit.synth_db /tmp/nw-1m.db --articles 1000000
    python -m bench.tui_scale /tmp/nw-1m.db

Runs the real app headless (Textual's `run_test`) over the database. First paint: from constructing the
app until the list shows rows on screen. Search: each query is typed one key at a time into the search
box; a keystroke's latency is from the key press until the list shows rows for the text typed so far
(the quick first screen); "exact" is until the full snapshot of that text has replaced it. Memory: the
process's peak RSS (ru_maxrss) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

QUERIES = ["troops", "football coach", "kalo", "@dprk AND sanction*", "title:storm", "energy pric*"]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _until(condition, timeout: float = 30.0) -> float:
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the list did not update in time")
        await asyncio.sleep(0.001)
    return time.perf_counter()


async def run(db_path: Path | str, config_path: Path, queries: list[str]) -> dict[str, object]:
    import_started = time.perf_counter()
    from newswatch.config import load_config
    from newswatch.session import Session
    from tui.app import NewswatchApp
    from tui.screens.main import MainScreen
    from tui.widgets.story_list import StoryList

    imported = time.perf_counter()
    config = load_config(config_path)
    started = time.perf_counter()
    app = NewswatchApp(Session(config, db_path))
    results: dict[str, object] = {"import_s": imported - import_started}
    async with app.run_test(size=(160, 45)) as pilot:

        def screen() -> MainScreen:
            return app.screen  # type: ignore[return-value]

        def painted() -> bool:
            if not isinstance(app.screen, MainScreen):
                return False
            story_list = app.screen.query_one(StoryList)
            return story_list.story_count > 0 and story_list.visible_rows_loaded()

        results["first_paint_s"] = await _until(painted) - started
        results["stories"] = await _exact_count(screen)
        keystrokes: list[float] = []
        wall: list[float] = []
        exact: list[float] = []
        per_query: dict[str, list[float]] = {}
        for query in queries:
            await pilot.press("slash")
            for index in range(len(query)):
                await _until(lambda: screen().shown_complete)
                pressed = time.perf_counter()
                await pilot.press(_key(query[index]))
                generation = screen().generation
                story_list = screen().query_one(StoryList)

                def updated(generation: int = generation, story_list: StoryList = story_list) -> bool:
                    shown = screen().shown_generation
                    return shown >= generation and story_list.visible_rows_loaded()

                error = screen()._query_error is not None
                if error:
                    continue  # an incomplete query (an open quote, a trailing AND): the error line is the update
                wall.append(await _until(updated) - pressed)
                # In-app: from the Input.Changed handler asking for the snapshot to the list holding it.
                keystrokes.append(screen().shown_at[generation] - screen().asked_at[generation])
                per_query.setdefault(query, []).append(keystrokes[-1])
                exact.append(await _until(lambda: screen().shown_complete) - pressed)
            await pilot.press("escape")
            screen().query_one("#search").value = ""
            await _until(lambda: screen().shown_complete and not screen().story_query.fts)
        results["keystrokes"] = len(keystrokes)
        results["search_median_ms"] = statistics.median(keystrokes) * 1000
        results["search_p90_ms"] = _percentile(keystrokes, 90) * 1000
        results["search_max_ms"] = max(keystrokes) * 1000
        results["pilot_wall_median_ms"] = statistics.median(wall) * 1000
        results["pilot_wall_p90_ms"] = _percentile(wall, 90) * 1000
        results["exact_median_ms"] = statistics.median(exact) * 1000
        results["exact_p90_ms"] = _percentile(exact, 90) * 1000
        results["per_query_max_ms"] = {q: round(max(v) * 1000, 1) for q, v in per_query.items()}
        # Scroll to the far end of the list: pages load on demand, the cache stays bounded.
        scroll_started = time.perf_counter()
        await pilot.press("end")
        await _until(lambda: screen().query_one(StoryList).visible_rows_loaded())
        results["jump_to_end_ms"] = (time.perf_counter() - scroll_started) * 1000
        results["rss_now_mb"] = _rss_mb()
    results["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


async def _exact_count(screen) -> int:
    from tui.widgets.story_list import StoryList

    await _until(lambda: screen().shown_complete)
    return screen().query_one(StoryList).story_count


def _key(char: str) -> str:
    names = {
        " ": "space",
        "*": "asterisk",
        "@": "at",
        ":": "colon",
        '"': "quotation_mark",
        "(": "left_parenthesis",
        ")": "right_parenthesis",
        "-": "minus",
    }
    return names.get(char, char)


def _percentile(values: list[float], percent: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # A file, or a postgresql:// URL (kept as text: Path() would fold its "//").
    parser.add_argument("db", type=lambda text: text if "://" in text else Path(text))
    parser.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1] / "config.toml")
    parser.add_argument("--query", action="append", help="queries to type (default: a mixed set)")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.db, args.config, args.query or QUERIES))
    for key, value in results.items():
        print(f"{key:22s} {value:.3f}" if isinstance(value, float) else f"{key:22s} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
