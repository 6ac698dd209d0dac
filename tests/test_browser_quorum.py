"""Notebook 04 in a real browser: JupyterLab + Debian's Chromium through Playwright.

Runs every cell, then switches members off in the quorum app until quorum is lost, and
checks that the status line says so. A screenshot of the app is saved as
``test-artifacts/quorum_app_no_quorum.png``.

Skipped (with the install command) where Chromium is missing; set
``ETCDLAB_REQUIRE_BROWSER=1`` to make that a failure instead, as CI should.
"""

from __future__ import annotations

import pytest
from browser import (JupyterLab, artifact_path, cell_errors, chromium_page, copy_notebook, open_notebook,
                     require_browser, run_all_cells)
from conftest import ROOT

NOTEBOOK = ROOT / "notebooks" / "04_quorum.ipynb"

STATUS = ".etcdlab-quorum-app .etcdlab-status"


def status_text(page) -> str:
    return page.inner_text(STATUS).strip()


@pytest.mark.browser
@pytest.mark.slow
def test_quorum_app_in_jupyterlab(tmp_path):
    require_browser()
    notebook = copy_notebook(NOTEBOOK, tmp_path)
    with JupyterLab(tmp_path) as lab, chromium_page() as page:
        open_notebook(page, lab, notebook.name)
        run_all_cells(page)
        assert cell_errors(page) == []

        app = page.locator(".etcdlab-quorum-app")
        assert app.count() == 1
        app.scroll_into_view_if_needed()
        assert status_text(page).startswith("Quorum holds: 3 of 3")
        # the topology drawing arrived as a picture
        page.wait_for_function(
            "() => { const i = document.querySelector('.etcdlab-quorum-app img.etcdlab-drawing, "
            ".etcdlab-quorum-app .etcdlab-drawing img'); return i && i.naturalWidth > 100; }")

        # switch members off, one by one, until the status says quorum is lost
        toggles = app.locator("button.etcdlab-member")
        assert toggles.count() == 3
        lost_after = None
        for i in reversed(range(toggles.count())):
            before = status_text(page)
            toggles.nth(i).click()
            page.wait_for_function(
                "([sel, before]) => document.querySelector(sel).innerText.trim() !== before",
                arg=[STATUS, before])
            if status_text(page).startswith("No quorum"):
                lost_after = toggles.count() - i
                break
        assert lost_after == 2, "3 members lose quorum at the second member down"
        text = status_text(page)
        assert "only 1 of 3 voting members is up" in text
        assert "serializable reads still answer on cp1" in text

        # what the apiservers get now
        app.locator("button.etcdlab-write").click()
        page.wait_for_function(
            "() => document.querySelector('.etcdlab-quorum-app .etcdlab-answers').innerText.includes('FAILS')")
        assert "request timed out" in page.inner_text(".etcdlab-quorum-app .etcdlab-answers")
        page.wait_for_timeout(300)  # let the drawing's new picture paint
        app.screenshot(path=str(artifact_path("quorum_app_no_quorum.png")))


# ----------------------------------------------------------------- the infrastructure itself
# (no browser needed: these always run)

def test_without_chromium_the_test_is_skipped_with_the_install_command(monkeypatch):
    import browser

    monkeypatch.setattr(browser, "find_chromium", lambda: None)
    monkeypatch.delenv("ETCDLAB_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        browser.require_browser()
    monkeypatch.setenv("ETCDLAB_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="must run"):
        browser.require_browser()


def test_copy_notebook_clears_outputs_and_widget_state(tmp_path):
    import json

    copy = copy_notebook(NOTEBOOK, tmp_path)
    nb = json.loads(copy.read_text())
    assert "widgets" not in nb["metadata"]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
