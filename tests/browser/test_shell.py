"""The shell in a real browser: login, the role's navbar, logout."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_login_shows_the_roles_navbar_and_logout_works(browser):
    from selenium.webdriver.common.by import By

    browser.login("humana-onc")
    browser.wait_text(By.ID, "shell-scope", "Humana · Oncology · hospice hidden")
    nav = browser.driver.find_element(By.CLASS_NAME, "navbar").text
    assert "Procedures & costs" in nav and "Hospital & team" in nav
    assert "Management analytics" not in nav and "Audit log" not in nav and "Extracts" not in nav
    browser.screenshot("shell-humana-oncology")
    browser.driver.find_element(By.ID, "shell-logout").click()
    browser.wait_for(By.ID, "login-submit")
    browser.driver.get(browser.url + "/client")
    assert "/login" in browser.driver.current_url


def test_employee_navbar_has_only_extracts(browser):
    from selenium.webdriver.common.by import By

    browser.login("employee")
    nav = browser.driver.find_element(By.CLASS_NAME, "navbar").text
    assert "Extracts" in nav
    for hidden in ("Procedures & costs", "Hospital & team", "Management analytics", "Audit log"):
        assert hidden not in nav
