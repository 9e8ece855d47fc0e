"""The team page (/team) in a real browser, on the fixture data (tests/fixture_data.py; data range 5 Jan 2020 -
1 Jul 2021, so the page opens on 2 Jul 2020 - 1 Jul 2021):

- an oncology member is not offered Hospice in the specialty dropdown, a Hospice member is;
- changing the dates or the specialty updates the KPIs and the monthly chart;
- the page settles: one round of callbacks, no console errors.
"""
from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.browser

SPECIALTIES_BUT_HOSPICE = ["Cardiology", "Dental", "Emergency & Critical Care", "Gastroenterology", "Imaging",
                           "Laboratory & Screening", "Mental Health & Substance Use", "Nephrology & Dialysis",
                           "Obstetrics & Gynecology", "Oncology", "Orthopedics & Rehabilitation",
                           "Primary Care & Prevention", "Pulmonology & Allergy", "Surgery"]


def _wait(browser, condition, timeout: float = 20, message: str = ""):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser.driver, timeout, ignored_exceptions=(StaleElementReferenceException,
                                                                      NoSuchElementException)).until(
        condition, message)


def text_of(browser, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.ID, element_id).text


def wait_text(browser, element_id: str, expected: str, timeout: float = 20):
    try:
        _wait(browser, lambda d: text_of(browser, element_id) == expected, timeout)
    except Exception:
        raise AssertionError(f"#{element_id} shows {text_of(browser, element_id)!r}, expected {expected!r}") from None


def kpis(browser) -> dict:
    return {name: text_of(browser, f"team-kpi-{name}") for name in ("members", "encounters", "procedures", "claim",
                                                                     "coverage", "cost")}


def dash_requests(browser) -> int:
    return browser.driver.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('_dash-update-component')).length")


@pytest.fixture(autouse=True)
def leave_the_page(browser):
    """Start from a clean session and leave on a blank page, so nothing of this test runs into the next one."""
    from selenium.webdriver.common.by import By

    for _ in range(10):  # a response still in flight from an earlier page may set a session cookie again
        browser.driver.get(browser.url + "/healthz")
        browser.driver.delete_all_cookies()
        browser.driver.get(browser.url + "/login")
        if browser.driver.find_elements(By.ID, "username"):
            break
        time.sleep(0.5)
    yield
    browser.driver.get("about:blank")


def assert_settled(browser, seconds: float = 3.0, allowed: int = 0):
    before = dash_requests(browser)
    time.sleep(seconds)
    extra = dash_requests(browser) - before
    if extra > allowed:
        errors = [e for e in browser.console_errors() if "favicon" not in e]
        raise AssertionError(
            f"{extra} Dash callback requests in {seconds:.0f} s on an idle /team page: the page keeps re-rendering "
            f"(first console error: {errors[0][:400] if errors else 'none'})")


def open_team(browser, username: str):
    from selenium.webdriver.common.by import By

    try:
        browser.login(username)
    except Exception as error:
        raise AssertionError(f"login of {username} failed at {browser.driver.current_url}: "
                             f"{browser.driver.find_element(By.TAG_NAME, 'body').text[:300]!r}") from error
    browser.driver.get(browser.url + "/team")
    browser.wait_for(By.ID, "team-kpi-members")
    time.sleep(1.5)
    assert_settled(browser, 2.0, allowed=4)  # a render loop fails here, fast and with its cause
    _wait(browser, lambda d: text_of(browser, "team-kpi-members") not in ("", "–"), message="KPIs never filled")
    _wait(browser, lambda d: "Massachusetts General Hospital" in text_of(browser, "team-hospital")
          or "No encounters" in text_of(browser, "team-hospital"), message="hospital card never filled")


def dropdown_value(browser, dropdown_id: str) -> str:
    return text_of(browser, f"{dropdown_id}-value")


def dropdown_options(browser, dropdown_id: str) -> list[str]:
    """Open the dcc.Dropdown (Dash 4: a button with a popover listbox), read the rendered options, close it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def read(driver):
        driver.find_element(By.ID, dropdown_id).click()
        options = driver.find_elements(By.CSS_SELECTOR, "[role=listbox] [role=option]")
        texts = [option.text for option in options]
        return texts if texts and all(texts) else False

    options = _wait(browser, read, 15, f"the {dropdown_id} dropdown never showed its options")
    browser.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    return options


def choose(browser, dropdown_id: str, label: str):
    """Pick an option the way a user does: open the dropdown, type in its search box, click the option."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    def open_search(driver):
        searches = [e for e in driver.find_elements(By.CSS_SELECTOR, "input.dash-dropdown-search") if e.is_displayed()]
        if searches:
            return searches[0]
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)  # close a date picker left open
        driver.find_element(By.ID, dropdown_id).click()
        return False

    _wait(browser, open_search, 10, f"the {dropdown_id} dropdown did not open").send_keys(label)

    def pick(driver):
        for option in driver.find_elements(By.CSS_SELECTOR, "[role=listbox] [role=option]"):
            if option.text == label:
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", option)
                driver.execute_script("arguments[0].click();", option)
                return True
        return False

    _wait(browser, pick, 10, f"no option {label!r} in {dropdown_id}")
    _wait(browser, lambda d: dropdown_value(browser, dropdown_id) == label, 10, f"{dropdown_id} did not take {label}")


def type_date(browser, which: str, text: str):
    """Type a date into the start or end input of the DatePickerRange (display format "D MMM YYYY")."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    selector = "#team-dates-end-date" if which == "end" else "input.dash-datepicker-start-date"
    field = browser.driver.find_element(By.CSS_SELECTOR, selector)
    field.click()
    field.send_keys(Keys.END)
    field.send_keys(Keys.BACKSPACE * 20)
    field.send_keys(text)
    field.send_keys(Keys.TAB)


def close_popovers(browser):
    """Close a date picker or dropdown left open (so a screenshot shows the figures)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    browser.driver.find_element(By.TAG_NAME, "h1").click()
    _wait(browser, lambda d: not any(e.is_displayed() for e in d.find_elements(By.CSS_SELECTOR,
                                                                               ".dash-datepicker-content")),
          5, "the date picker did not close")


def monthly_traces(browser) -> list[dict]:
    return browser.driver.execute_script(
        "const g = document.querySelector('#team-monthly-graph .js-plotly-plot');"
        "return g && g.data ? g.data.map(t => ({type: t.type, x: Array.from(t.x || []), y: Array.from(t.y || [])}))"
        " : null;") or []


def test_team_page_settles_without_errors(browser):
    """After the first round of callbacks the page is quiet: no re-render loop, no JavaScript errors."""
    open_team(browser, "humana-onc")
    assert_settled(browser, 3.0)
    errors = [e for e in browser.console_errors() if "favicon" not in e]
    assert not errors, errors[:3]


def test_oncology_member_is_not_offered_hospice(browser):
    open_team(browser, "humana-onc")
    assert dropdown_value(browser, "team-specialty") == "Oncology"
    options = dropdown_options(browser, "team-specialty")
    assert "Hospice" not in options and not any("hospice" in option.lower() for option in options), options
    assert options == ["All specialties", *SPECIALTIES_BUT_HOSPICE], options
    assert "hospice hidden" in text_of(browser, "team-scope")


def test_changing_dates_and_specialty_updates_the_figures(browser):
    open_team(browser, "humana-onc")
    # 2 Jul 2020 - 1 Jul 2021, Oncology: p06's chemotherapy was in January and February 2020
    wait_text(browser, "team-kpi-members", "0")
    assert kpis(browser)["procedures"] == "0"

    type_date(browser, "start", "15 Jan 2020")
    wait_text(browser, "team-kpi-members", "1")
    assert kpis(browser) == {"members": "1", "encounters": "2", "procedures": "2", "claim": "$10,300",
                             "coverage": "$10,000", "cost": "$10,000"}
    _wait(browser, lambda d: monthly_traces(browser) and monthly_traces(browser)[0]["x"][:1] == ["2020-01"], 10,
          "the monthly chart did not follow the new start date")
    bars = monthly_traces(browser)[0]
    assert bars["type"] == "bar" and bars["x"][-1] == "2021-07"
    assert dict(zip(bars["x"], bars["y"]))["2020-01"] == 1 and dict(zip(bars["x"], bars["y"]))["2020-02"] == 1
    href = browser.driver.find_element("id", "team-helped-csv").get_attribute("href")
    assert "start=2020-01-15" in href and "specialty=Oncology" in href
    close_popovers(browser)
    browser.screenshot("team-humana-oncology")

    choose(browser, "team-specialty", "All specialties")
    wait_text(browser, "team-kpi-members", "3")
    assert kpis(browser) == {"members": "3", "encounters": "4", "procedures": "4", "claim": "$11,700",
                             "coverage": "$11,300", "cost": "$11,000"}

    type_date(browser, "end", "31 Dec 2020")
    wait_text(browser, "team-kpi-encounters", "2")
    assert text_of(browser, "team-kpi-members") == "1"


def test_hospice_member_is_offered_hospice(browser):
    open_team(browser, "humana-hospice")
    assert dropdown_value(browser, "team-specialty") == "Hospice"
    options = dropdown_options(browser, "team-specialty")
    assert "Hospice" in options and "Oncology" in options, options
    # 2 Jul 2020 - 1 Jul 2021: e10's hospice care on 10 Jan 2021
    wait_text(browser, "team-kpi-procedures", "1")
    assert kpis(browser)["members"] == "1" and kpis(browser)["cost"] == "$400"
    browser.screenshot("team-humana-hospice")
