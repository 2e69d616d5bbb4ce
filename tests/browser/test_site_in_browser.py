"""The built site in a real headless Chromium, as a reader uses it.

Every page renders with no console error, every image and figure loads, and no request
leaves 127.0.0.1. Search finds the autograd pages, the light/dark toggle works, and a
copy button puts code on the clipboard that runs as it is.

The browser is Debian's ``chromium`` (no test tool downloads its own). Without it these
tests skip and say how to enable them; CI installs it (.ci/run).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlparse

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(
        "no Chromium: install Debian's package (apt-get install chromium) to run the "
        "browser tests; .ci/run installs it",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402
    Browser,
    ConsoleMessage,
    Page,
    Request,
    sync_playwright,
)

pytestmark = pytest.mark.site

#: Chromium's own background services would try to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


#: How a reader searches each build: what to click, where to type, what lists the results.
#: Zensical's search is a dialog of its own, its input in a shadow root.
SEARCH_UI = {
    "mkdocs": (".md-search__input", ".md-search__input", ".md-search-result__item a"),
    "zensical": (".md-search__button", "input[role=combobox]", "a[role=option]"),
}


class Built(NamedTuple):
    builder: str
    site: Path


@pytest.fixture(scope="module", params=list(SEARCH_UI))
def built(request: pytest.FixtureRequest) -> Built:
    """The site as each builder builds it: every test here runs on both."""
    fixture = "site" if request.param == "mkdocs" else "zensical_site"
    return Built(request.param, Path(request.getfixturevalue(fixture)))


@pytest.fixture(scope="module")
def base_url(built: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(built.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def page_urls(site: Path) -> list[str]:
    """Every page of the built site, as a path below the root."""
    paths = []
    for html in sorted(site.rglob("index.html")):
        relative = html.parent.relative_to(site)
        if relative.parts and relative.parts[0] in ("assets", "search"):
            continue
        paths.append("/" if str(relative) == "." else f"/{relative}/")
    return paths


def check_page(browser: Browser, url: str) -> list[str]:
    """Open one page; return what went wrong: console errors, foreign requests, broken media."""
    page = browser.new_page()
    errors: list[str] = []
    foreign: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    def on_request(request: Request) -> None:
        if urlparse(request.url).scheme not in ("data", "blob") and (
            urlparse(request.url).hostname != "127.0.0.1"
        ):
            foreign.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", on_request)
    response = page.goto(url, wait_until="networkidle")
    problems = [] if response is not None and response.ok else [f"{url}: not served"]
    broken_images = page.evaluate(
        "[...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    empty_figures = page.evaluate(
        "[...document.querySelectorAll('figure.tensorkit-figure')]"
        ".filter(f => !f.querySelector('svg') || f.querySelector('svg').getBBox().width === 0)"
        ".length"
    )
    page.close()
    problems += [f"{url}: console: {error}" for error in errors]
    problems += [f"{url}: request to another host: {foreign_url}" for foreign_url in foreign]
    problems += [f"{url}: image did not load: {src}" for src in broken_images]
    if empty_figures:
        problems.append(f"{url}: {empty_figures} figure(s) drew nothing")
    return problems


def test_every_page_renders_loads_everything_and_stays_local(
    built: Path, base_url: str, browser: Browser
) -> None:
    paths = page_urls(built.site)
    assert len(paths) >= 3
    problems = [problem for path in paths for problem in check_page(browser, base_url + path)]
    assert not problems, "\n".join(problems)


def test_search_for_jacobian_finds_the_autograd_pages(
    built: Built, base_url: str, browser: Browser
) -> None:
    opens, field, results = SEARCH_UI[built.builder]
    page = browser.new_page()
    page.goto(base_url + "/", wait_until="networkidle")
    # Both search on key events, so type as a reader would.
    page.click(opens)
    page.locator(field).press_sequentially("jacobian", delay=30)
    page.locator(results).first.wait_for(timeout=15_000)
    found = page.locator(results)
    links = [found.nth(i).get_attribute("href") or "" for i in range(found.count())]
    page.close()
    assert any("autograd/" in link for link in links), links


def test_light_dark_toggle_switches_the_scheme(base_url: str, browser: Browser) -> None:
    page = browser.new_page(color_scheme="light")
    page.goto(base_url + "/", wait_until="networkidle")
    scheme = "document.body.getAttribute('data-md-color-scheme')"
    assert page.evaluate(scheme) == "default"
    page.click("label[title='Switch to dark mode']")
    assert page.evaluate(scheme) == "slate"
    page.click("label[title='Switch to light mode']")
    assert page.evaluate(scheme) == "default"
    page.close()


def copy_first_example(page: Page) -> str:
    page.hover("div.language-pycon.highlight")
    page.click("div.language-pycon.highlight button.md-code__button[title='Copy to clipboard']")
    text: str = page.evaluate("navigator.clipboard.readText()")
    return text


def test_copy_button_copies_code_that_runs(
    base_url: str, browser: Browser, tmp_path: Path
) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(base_url + "/autograd/basics/", wait_until="networkidle")
    copied = copy_first_example(page)
    context.close()
    assert ">>>" not in copied and "tensor(5.)" not in copied  # no prompts, no output
    assert copied.startswith("import torch\n")
    script = tmp_path / "copied.py"
    script.write_text(copied + "\nprint(w.grad)\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "tensor(5.)\n"
