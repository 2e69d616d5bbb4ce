"""A search index per language: each edition of the site searches its own pages.

The i18n plugin merges every language's pages into one ``search/search_index.json`` and asks
for every language's word handling (``lang: [en, zh]``), so an English reader's search
listed Chinese pages, and every page of both editions had the browser build an index twice
the size with Chinese word handling on each load. After the build, this MkDocs hook (named
in mkdocs.yml) splits the index: ``search/`` keeps the English pages with English word
handling, ``zh/search/`` gets the Chinese edition's pages, their addresses relative to
``zh/``; and each Chinese page's configuration points Material's search at ``zh/``.

Material looks for the index at ``<base>/search/search_index.json``, where ``base`` is the
page's ``__config`` entry, and resolves the results' addresses against the same base.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mkdocs.plugins import event_priority

from harness.translations import LANGUAGE

#: The Chinese edition's folder in the built site, as the i18n plugin names it.
CHINESE = f"{LANGUAGE}/"
#: Where Material's search reads an edition's index, below the edition's folder.
SEARCH_INDEX = Path("search") / "search_index.json"
#: Material's page configuration: one JSON object in a script element.
_CONFIG = re.compile(r'(<script id="__config" type="application/json">)(.*?)(</script>)', re.S)


def split_index(index: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The English index and the Chinese one, from the index of both editions.

    Args:
        index: the merged index, ``{"config": ..., "docs": [{"location": ...}, ...]}``.

    Returns:
        The English edition's index (English word handling only) and the Chinese
        edition's, whose locations are relative to its own folder.
    """
    english = [doc for doc in index["docs"] if not doc["location"].startswith(CHINESE)]
    chinese = [
        {**doc, "location": doc["location"].removeprefix(CHINESE)}
        for doc in index["docs"]
        if doc["location"].startswith(CHINESE)
    ]
    english_config = {**index["config"], "lang": ["en"]}
    return {**index, "config": english_config, "docs": english}, {**index, "docs": chinese}


def with_search_base(html: str, base: str) -> str:
    """The page with Material's ``base`` set to ``base``; unchanged if it has no config."""

    def rebased(match: re.Match[str]) -> str:
        config = json.loads(match.group(2))
        config["base"] = base
        return match.group(1) + json.dumps(config, ensure_ascii=False) + match.group(3)

    return _CONFIG.sub(rebased, html, count=1)


def on_post_page(output: str, page: Any, config: Any) -> str:
    """A Chinese page searches the Chinese edition: its base becomes the edition's folder."""
    if not page.url.startswith(CHINESE):
        return output
    depth = page.url.removeprefix(CHINESE).count("/")
    return with_search_base(output, "/".join([".."] * depth) or ".")


@event_priority(-110)  # after the i18n plugin (and make serve's hook) wrote the merged index
def on_post_build(config: Any) -> None:
    """Split the built index into the English edition's and the Chinese edition's."""
    site = Path(config["site_dir"])
    merged = site / SEARCH_INDEX
    if not merged.exists() or not (site / CHINESE).is_dir():
        return
    english, chinese = split_index(json.loads(merged.read_text(encoding="utf-8")))
    if not chinese["docs"]:
        return  # an inner build of one language: the final one splits the merged index
    merged.write_text(json.dumps(english, separators=(",", ":")), encoding="utf-8")
    (site / CHINESE / SEARCH_INDEX).parent.mkdir(parents=True, exist_ok=True)
    (site / CHINESE / SEARCH_INDEX).write_text(
        json.dumps(chinese, separators=(",", ":")), encoding="utf-8"
    )
