"""Which program opens a link, and how: an argv list (never a shell), in the terminal or in the background.

`[ui] browser` is a command in newsboat's style, "w3m %u" or "firefox --new-tab %u &": `%u` stands for the
link (appended when absent), split into words like a shell would but never run by one, so nothing in a
link or a feed can become a command. A trailing `&` marks a graphical browser: it runs in the background
with its output captured (it must not draw over the interface). Without `&` the browser runs in the
terminal, with the interface suspended until it exits.

Without the setting: $BROWSER as if it were the setting; else with a display, the desktop's opener (xdg-open, gio, ...) in the background; without
one, a console browser found on PATH in the terminal; else None, and the caller says so.
Nothing here imports textual.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass

# Tried in order when no browser is configured.
GUI_OPENERS = ("xdg-open", "gio", "sensible-browser", "x-www-browser", "open")
CONSOLE_BROWSERS = ("www-browser", "w3m", "lynx", "elinks", "links")


class BrowserSettingError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class BrowserCommand:
    argv: list[str]
    console: bool  # runs in the terminal: the interface is suspended while it runs


def parse_browser_setting(setting: str) -> tuple[list[str], bool]:
    """'w3m %u' -> (['w3m', '%u'], console); 'firefox %u &' -> (['firefox', '%u'], not console)."""
    text = setting.strip()
    console = True
    if text.endswith("&"):
        text, console = text[:-1].rstrip(), False
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise BrowserSettingError(f"cannot read the browser command {setting!r}: {error}") from None
    if not words:
        raise BrowserSettingError("the browser command is empty")
    return words, console


def _with_url(words: list[str], url: str) -> list[str]:
    if not any("%u" in word for word in words):
        return [*words, url]
    return [word.replace("%u", url) for word in words]


def browser_command(
    url: str, setting: str | None = None, *, environ: Mapping[str, str] | None = None
) -> BrowserCommand | None:
    """The command that opens `url` (an http(s) link already checked by the caller), or None if none is found."""
    env = os.environ if environ is None else environ
    # $BROWSER (a colon-separated list; the first entry counts) is the usual way to name one outside newswatch.
    setting = setting or (env.get("BROWSER") or "").split(":")[0].strip() or None
    if setting:
        words, console = parse_browser_setting(setting)
        return BrowserCommand(_with_url(words, url), console)
    path = env.get("PATH")
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        for opener in GUI_OPENERS:
            if found := shutil.which(opener, path=path):
                argv = [found, "open", url] if opener == "gio" else [found, url]
                return BrowserCommand(argv, console=False)
    for name in CONSOLE_BROWSERS:
        if found := shutil.which(name, path=path):
            return BrowserCommand([found, url], console=True)
    return None
