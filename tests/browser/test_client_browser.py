"""The client page (/client) in a real browser on the fixture data: the charts render, and a download yields a CSV
whose numbers are the chart's."""
from __future__ import annotations

import csv
import io

import pytest
import requests

pytestmark = pytest.mark.browser

FIGURE_JS = """
const node = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');
return node && node.data ? node.data.map(t => ({x: t.x, y: t.y, customdata: t.customdata})) : null;
"""


def figure_data(browser, graph_id: str):
    return browser.driver.execute_script(FIGURE_JS, graph_id)


def test_client_charts_render_and_the_download_matches_the_chart(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.login("uhc")
    browser.driver.get(browser.url + "/client")
    WebDriverWait(browser.driver, 30).until(lambda d: figure_data(browser, "client-cost-graph"))
    browser.wait_text(By.ID, "client-kpi-members", "4")
    traces = figure_data(browser, "client-cost-graph")
    bars = traces[0]
    # fixture UnitedHealthcare: Chemotherapy 5,000, Colonoscopy 1,000, Hospice care 400, Depression screening 200
    assert bars["x"] == [5000, 1000, 400, 200]
    assert bars["y"] == ["Chemotherapy", "Colonoscopy", "Hospice care", "Depression screening"]
    WebDriverWait(browser.driver, 30).until(lambda d: figure_data(browser, "client-shared-graph"))
    browser.screenshot("client-uhc")

    link = browser.driver.find_element(By.ID, "client-summary-csv").get_attribute("href")
    assert "/api/extracts/procedure-summary" in link and "format=csv" in link
    session = requests.Session()
    for cookie in browser.driver.get_cookies():
        session.cookies.set(cookie["name"], cookie["value"])
    response = session.get(link, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["procedure"] for row in rows] == bars["y"]
    assert [float(row["total_cost"]) for row in rows] == bars["x"]
    hover = {point[4]: point for point in bars["customdata"]}  # code -> count, total, average, patients, code, name
    for row in rows:
        count, total, average, patients = hover[row["procedure_code"]][:4]
        assert (int(row["procedures_performed"]), float(row["total_cost"]), int(row["patients"])) == \
            (count, total, patients)
