"""What the site itself says on a page (stamps, notes, download links), in the page's
language: English, or Chinese on a translation (``creation.zh.md``)."""

from __future__ import annotations

from pathlib import Path

from harness.skips import SKIP_NOTE
from harness.translations import LANGUAGE, is_translation

ENGLISH = "en"
CHINESE = LANGUAGE

#: Each sentence, by key, in each language; ``{...}`` fields are filled in by the caller.
TEXT: dict[str, dict[str, str]] = {
    "verified": {
        ENGLISH: "Every example on this page was run and printed exactly what the page "
        "shows: {runs}.{not_yet}",
        CHINESE: "本页的每个示例都运行过，打印的内容与页面所示完全一致：{runs}。{not_yet}",
    },
    # Only translations say it, and no translation is in English.
    "verified translation": {
        CHINESE: "本页的示例与英文页面的逐行相同（只有 Python 注释经过翻译），"
        "它们在本次检查中运行过，打印的内容与页面所示完全一致：{runs}。{not_yet}",
    },
    "run": {
        ENGLISH: "on {device} with torch {versions} on {date}",
        CHINESE: "在 {device} 上，torch {versions}，{date}",
    },
    "runs joined": {ENGLISH: "; ", CHINESE: "；"},
    "not yet": {ENGLISH: " Not yet checked on {devices}.", CHINESE: "尚未在 {devices} 上检查。"},
    "or": {ENGLISH: " or ", CHINESE: " 或 "},
    "not verified": {
        ENGLISH: "The examples on this page have changed since they were last run and "
        "checked, so what they print may differ from what is shown.",
        CHINESE: "本页的示例在上次运行检查之后有改动，它们打印的内容可能与页面所示不同。",
    },
    "downloads": {ENGLISH: "Download the examples: ", CHINESE: "下载示例："},
    "not checked": {ENGLISH: SKIP_NOTE, CHINESE: "未检查"},
    "not checked on": {ENGLISH: f"{SKIP_NOTE} on {{device}}", CHINESE: "未在 {device} 上检查"},
    "behind title": {ENGLISH: "", CHINESE: "英文原文已更新"},
    "behind": {
        ENGLISH: "",
        CHINESE: "本页译自英文页面的较早版本，英文页面此后有所修改，本页尚未跟进。"
        '最新内容见<a href="{link}">英文页面</a>。',
    },
    "summary": {
        ENGLISH: "Of the {count} files whose examples this site shows (pages, the programs "
        "they include and tensorkit's modules), {clauses}.",
        CHINESE: "本站展示示例的 {count} 个文件（页面、页面包含的程序以及 tensorkit 的模块）"
        "中，{clauses}。",
    },
    "summary run": {
        ENGLISH: "{done} have been run on {device} with torch {versions} and printed "
        "exactly what is shown (last on {date})",
        CHINESE: "{done} 个已在 {device} 上用 torch {versions} 运行过，打印的内容与所示"
        "完全一致（最近一次在 {date}）",
    },
    "summary none": {
        ENGLISH: "none has yet been run on {device}",
        CHINESE: "还没有文件在 {device} 上运行过",
    },
}


def language_of(page: Path) -> str:
    """The language a page is written in: its translation suffix, or English."""
    return CHINESE if is_translation(page) else ENGLISH


def say(key: str, language: str, **fields: str) -> str:
    """The sentence ``key`` in ``language``, its fields filled in."""
    return TEXT[key][language].format(**fields)
