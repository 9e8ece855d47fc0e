"""Issue 5 in a real browser: senior management's /management page renders its three sections with content, and an
employee sees only Home and Extracts, gets the 403 page on /management and working download links on /extracts.

The live app of this module serves the real data (MAT_INPUT_DIR): the fixture data set is too small for the
contingency table (every area and procedure has fewer than 30 patient-procedure pairs, so there is no heatmap) and
for a cluster at the default minimum cluster size of 5, so the page could not show that its sections have content.
"""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import build_app

pytestmark = pytest.mark.browser

PAGE_TITLES = ("Home", "Procedures & costs", "Hospital & team", "Management analytics", "Extracts", "Audit log")


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, real_input):
    """Overrides tests/browser/conftest.py's live app for this module: the real data, default settings."""
    app = build_app(tmp_path_factory.mktemp("browser-management"), real_input)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()


GRAPH_STATE = """
const plot = document.querySelector(arguments[0] + ' .js-plotly-plot');
if (!plot || !plot.data) { return null; }
return plot.data.map(t => ({type: t.type, name: t.name || '',
                            n: (t.lat || t.y || t.z || []).length}));
"""


def wait_for_graph(browser, element_id: str, timeout: float = 45):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(driver):
        traces = driver.execute_script(GRAPH_STATE, f"#{element_id}")
        return traces if traces and any(trace["n"] > 0 for trace in traces) else False

    try:
        return WebDriverWait(browser.driver, timeout).until(ready)
    except TimeoutException:
        errors = [error[:300] for error in browser.console_errors()]
        raise AssertionError(f"#{element_id} drew no data; browser console errors: {errors[:4]}") from None


def fresh_session(browser) -> None:
    """Forget any session of an earlier test (a late Dash response may have set its cookie again)."""
    browser.driver.get(browser.url + "/healthz")
    browser.driver.delete_all_cookies()


def nav_titles(browser) -> set[str]:
    from selenium.webdriver.common.by import By

    links = browser.driver.find_elements(By.CSS_SELECTOR, "[id^='shell-nav-']")
    return {link.text.strip() for link in links}


def test_senior_management_page_renders_its_three_sections(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    fresh_session(browser)
    browser.login("senior")
    browser.driver.get(browser.url + "/management")
    try:
        area_map = wait_for_graph(browser, "management-area-map")
        assert {trace["type"] for trace in area_map} == {"scattermap"}
        assert any(trace["name"] == "Patients per area (all clients)" and trace["n"] > 0 for trace in area_map)
        bars = wait_for_graph(browser, "management-area-bars")
        assert {trace["type"] for trace in bars} == {"bar"} and {trace["name"] for trace in bars} >= {"All clients"}
        heatmap = wait_for_graph(browser, "management-assoc-heatmap")
        assert heatmap[0]["type"] == "heatmap" and heatmap[0]["n"] >= 2
        browser.wait_text(By.ID, "management-assoc-reading", "Chi-square", timeout=45)
        prox_map = wait_for_graph(browser, "management-prox-map")
        assert any(trace["name"] == "Non-client clusters" and trace["n"] > 0 for trace in prox_map)
        cells = WebDriverWait(browser.driver, 45).until(
            lambda driver: driver.find_elements(By.CSS_SELECTOR, "#management-prox-table td[data-dash-column]"),
            message="the clusters table has no rows")
        assert any(cell.text.strip() for cell in cells)
        browser.wait_text(By.ID, "management-prox-summary", "clusters of at least 5", timeout=45)
        for link in ("management-area-csv", "management-assoc-xlsx", "management-prox-csv"):
            WebDriverWait(browser.driver, 20).until(
                lambda driver, link=link: "/api/extracts/" in (driver.find_element(By.ID, link).get_attribute("href")
                                                               or ""))
        assert "Management analytics" in nav_titles(browser)
    finally:  # the screenshot shows the page as it is, also when a section is missing
        browser.driver.execute_script("window.scrollTo(0, 0)")
        browser.screenshot("management-senior")
    errors = [error for error in browser.console_errors() if "_dash-update-component" in error]
    assert not errors, errors


FETCH = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {credentials: 'same-origin'})
  .then(r => r.text().then(t => done({status: r.status, head: t.slice(0, 200)})))
  .catch(e => done({status: -1, head: String(e)}));
"""


def test_employee_sees_only_extracts_and_gets_403_on_management(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    fresh_session(browser)
    browser.login("employee")
    assert nav_titles(browser) == {"Home", "Extracts"}
    navbar = browser.driver.find_element(By.CLASS_NAME, "navbar").text
    for hidden in set(PAGE_TITLES) - {"Home", "Extracts"}:
        assert hidden not in navbar

    browser.driver.get(browser.url + "/management")
    body = browser.driver.find_element(By.TAG_NAME, "body").text
    assert "This page is not part of your access" in body
    assert not browser.driver.find_elements(By.ID, "management-area-map")

    browser.driver.get(browser.url + "/extracts")
    browser.wait_for(By.ID, "extracts-patients-by-area-csv")
    links = {}
    for name in ("patients-by-area", "area-procedures", "proximity-clusters"):
        for fmt in ("csv", "xlsx"):
            element_id = f"extracts-{name}-{fmt}"
            href = WebDriverWait(browser.driver, 30).until(
                lambda driver, element_id=element_id: (
                    driver.find_element(By.ID, element_id).get_attribute("href") or "")
                if "/api/extracts/" in (driver.find_element(By.ID, element_id).get_attribute("href") or "")
                else False, message=f"{element_id} has no download link")
            assert f"/api/extracts/{name}?" in href and f"format={fmt}" in href
            links[(name, fmt)] = href
    browser.wait_text(By.ID, "extracts-proximity-clusters-rows", "clusters with these settings", timeout=30)
    headers = {"patients-by-area": "area_level,area,client,patients", "area-procedures": "area,procedure_code",
               "proximity-clusters": "cluster_id,non_client_patients"}
    for (name, fmt), href in links.items():
        result = browser.driver.execute_async_script(FETCH, href)
        assert result["status"] == 200, (href, result)
        if fmt == "csv":
            assert result["head"].startswith(headers[name]), result["head"]
        else:
            assert result["head"].startswith("PK"), "not an xlsx file"
    browser.driver.execute_script("window.scrollTo(0, 0)")
    browser.screenshot("extracts-employee")
