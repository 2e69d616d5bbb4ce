"""Each page's stamp: present where a page shows examples, and true after a full run.

The stamp under a page's title says where and with which torch its examples last
passed (harness/page_features.py, from verification.json). An API page shows no examples
of its own: its stamp comes from the records of the modules it renders.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.collect import PASSES, ROOT
from harness.page_features import NOT_VERIFIED, page_documents, verified_stamp
from harness.verification import VerificationRecorder
from tests.site.test_rendered_examples import PAGES, built_page

STAMP = '<p class="tensorkit-verified">'


def documents_of(page: Path) -> list[str]:
    return page_documents(page, page.read_text(encoding="utf-8"))


def test_an_api_page_is_stamped_from_the_modules_it_renders() -> None:
    documents = documents_of(ROOT / "docs" / "api" / "regression.md")
    assert "docs/api/regression.md" not in documents  # it has no examples of its own
    assert {"tensorkit/regression/loop.py", "tensorkit/regression/minibatch.py"} <= set(documents)


def test_a_page_without_examples_gets_no_stamp() -> None:
    assert documents_of(ROOT / "docs" / "install.md") == []
    assert verified_stamp([], {"documents": {}}) == ""


@pytest.mark.site
def test_every_page_with_examples_shows_a_stamp_and_no_other_does(site: Path) -> None:
    wrong = []
    for page in PAGES:
        stamped = STAMP in built_page(site, page).read_text(encoding="utf-8")
        if stamped != bool(documents_of(page)):
            wrong.append(f"{page.relative_to(ROOT)}: {'a' if stamped else 'no'} stamp")
    assert not wrong, "\n".join(wrong)


@pytest.mark.after_documents
def test_after_a_full_run_no_page_shows_a_stale_stamp(request: pytest.FixtureRequest) -> None:
    recorder = request.config.pluginmanager.get_plugin("verification-record")
    assert isinstance(recorder, VerificationRecorder)
    device = PASSES[0]  # the cpu pass runs everywhere; without a GPU the cuda pass skips
    needed = {d for page in PAGES for d in documents_of(page)}
    missing = needed - recorder.documents_run(device)
    if missing:
        pytest.skip(
            f"this run did not run every document's {device} examples (e.g. "
            f"{sorted(missing)[0]}): only a full run can vouch for every stamp"
        )
    record = recorder.updated_record()
    stale = [
        f"{page.relative_to(ROOT)}: {stamp or 'no stamp'}"
        for page in PAGES
        if (documents := documents_of(page))
        and ("Every example on this page" not in (stamp := verified_stamp(documents, record)))
    ]
    assert not stale, "pages whose stamp this run's record does not vouch for:\n" + "\n".join(
        stale
    )


def test_a_stamp_from_a_record_of_other_text_says_the_examples_changed() -> None:
    page = ROOT / "docs" / "autograd" / "basics.md"
    record = {"documents": {"docs/autograd/basics.md": {"sha256": "0" * 16, "cpu": {}}}}
    assert NOT_VERIFIED in verified_stamp(documents_of(page), record)
