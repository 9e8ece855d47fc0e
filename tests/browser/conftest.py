"""Headless Chromium (Debian's chromium and chromedriver) against the app served on a loopback port."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, build_app
from tests.services import chromium_paths, unavailable

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="session")
def live_app(tmp_path_factory, fixture_input):
    app = build_app(tmp_path_factory.mktemp("browser-app"), fixture_input, min_cell_size=2)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()


@pytest.fixture(scope="session")
def chrome():
    paths = chromium_paths()
    if paths is None:
        unavailable("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(paths[1]), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def browser(chrome, live_app):
    """A fresh browser session (cookies cleared) and a `login(username)` helper."""
    base, app = live_app
    chrome.delete_all_cookies()
    chrome.get_log("browser")  # drain what earlier tests left in the console log

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    class Browser:
        driver = chrome
        url = base

        def login(self, username: str, password: str = PASSWORD):
            chrome.get(base + "/login")
            chrome.find_element(By.ID, "username").send_keys(username)
            chrome.find_element(By.ID, "password").send_keys(password)
            chrome.find_element(By.ID, "login-submit").click()
            self.wait_for(By.ID, "shell-user")

        def wait_for(self, by, value, timeout: float = 20):
            return WebDriverWait(chrome, timeout).until(EC.presence_of_element_located((by, value)))

        def wait_text(self, by, value, text: str, timeout: float = 20):
            return WebDriverWait(chrome, timeout).until(EC.text_to_be_present_in_element((by, value), text))

        def screenshot(self, name: str) -> Path:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            path = SCREENSHOTS / f"{name}.png"
            chrome.save_screenshot(str(path))
            return path

        def console_errors(self) -> list[str]:
            return [entry["message"] for entry in chrome.get_log("browser") if entry["level"] == "SEVERE"]

    yield Browser()
