#!/usr/bin/python3
"""console_test.py - the back-office console in a real browser (issue #15).

Starts `sync-server serve --demo` on a free port with a temporary store,
drives Debian's headless chromium through chromedriver with python3-selenium
(run with /usr/bin/python3: Debian's selenium is installed for it), and
checks what the page shows against the admin API:

  - a visitor without a session sees the login form;
  - after logging in as demo-admin, the Today numbers equal GET /admin/v1/today;
  - the Customers list shows a demo customer;
  - a customer named `<img src=x onerror=alert(1)>` (imported through the
    admin API) shows as text: no alert, no img element;
  - the Conflicts screen loads;
  - the browser console holds no JavaScript error;
  - logging out shows the login form again.

A screenshot of every screen is saved in the output folder. Exits 77
(ctest SKIP_RETURN_CODE) with a loud SKIPPED only when chromium,
chromedriver or selenium is missing. Every wait is an explicit
WebDriverWait on an element or condition; nothing sleeps.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 60
XSS_NAME = "<img src=x onerror=alert(1)>"


def skip(why):
    print("=" * 60)
    print("SKIPPED: console browser test: " + why)
    print("=" * 60)
    sys.exit(77)


try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:
    skip("python3-selenium missing (%s)" % e)
for tool in (CHROMIUM, CHROMEDRIVER):
    if not os.access(tool, os.X_OK):
        skip(tool + " missing")


def start_server(binary, tmp):
    """Starts the demo server on a free port; returns (proc, url, password, token)."""
    proc = subprocess.Popen(
        [binary, "serve", "--demo", "--port", "0", "--db", os.path.join(tmp, "demo.db")],
        cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found = {}
    lines = []

    def read():
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                found["url"] = m.group(1)
            m = re.search(r"console: (http://\S+)/ ", line)
            if m:
                found["console"] = m.group(1)
            m = re.search(r"Authorization: Bearer (\S+)\)", line)
            if m:
                found["token"] = m.group(1)
            m = re.search(r"back-office login \(made for this demo\): demo-admin / (\S+)", line)
            if m:
                found["password"] = m.group(1)
                ready.set()
        ready.set()

    ready = threading.Event()
    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(WAIT_S) or "password" not in found or "url" not in found:
        raise RuntimeError("the demo server did not start:\n" + "".join(lines))
    if found.get("console") != found["url"]:
        raise RuntimeError("the banner names no console URL:\n" + "".join(lines))
    return proc, found["url"], found["password"], found.get("token")


def api(url, token, method, path, body=None, ctype="application/json"):
    req = urllib.request.Request(url + "/admin/v1/" + path, method=method,
                                 data=body.encode() if body is not None else None)
    req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, timeout=WAIT_S) as r:
        return json.loads(r.read().decode())


def main():
    if len(sys.argv) != 3:
        print("usage: console_test.py SYNC_SERVER_BINARY OUTPUT_DIR", file=sys.stderr)
        return 2
    binary, outdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(outdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="fs-console-test-")
    proc = None
    driver = None
    try:
        proc, url, password, token = start_server(binary, tmp)
        assert token, "the demo banner printed no admin token"

        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-dev-shm-usage", "--window-size=1366,768",
                  "--user-data-dir=" + os.path.join(tmp, "chromium")):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        driver.set_page_load_timeout(WAIT_S)
        wait = WebDriverWait(driver, WAIT_S)

        def shot(name):
            driver.save_screenshot(os.path.join(outdir, "console-%s.png" % name))

        # 1. A visitor without a session gets the login page.
        driver.get(url + "/")
        wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
        assert not driver.find_element(By.ID, "bar").is_displayed()
        shot("login")

        # A wrong password is refused on the page.
        driver.find_element(By.ID, "login-name").send_keys("demo-admin")
        driver.find_element(By.ID, "login-password").send_keys("wrong password")
        driver.find_element(By.ID, "login-submit").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "login-error"), "wrong name or password"))

        # 2. Log in with the keyboard (Enter submits the form).
        name = driver.find_element(By.ID, "login-name")
        name.clear()
        name.send_keys("demo-admin")
        driver.find_element(By.ID, "login-password").send_keys(password + "\n")
        wait.until(EC.visibility_of_element_located((By.ID, "today-screen")))
        wait.until(lambda d: d.find_element(By.ID, "today-numbers").get_attribute("data-loaded") == "1")
        today = api(url, token, "GET", "today")
        for key in ("visits_done", "visits_planned", "devices_synced", "devices_silent",
                    "open_conflicts", "rejected_waiting"):
            shown = driver.find_element(By.ID, "t-" + key).text
            assert shown == str(today[key]), "%s: page %r, API %r" % (key, shown, today[key])
        assert "demo-admin" in driver.find_element(By.ID, "who").text
        shot("today")

        # 3. Customers: a demo customer's name appears.
        customers = api(url, token, "GET", "customers?limit=5")
        assert customers["items"], "the demo has no customers"
        demo_name = customers["items"][0]["name"]
        driver.find_element(By.ID, "nav-customers").click()
        wait.until(EC.visibility_of_element_located((By.ID, "customers-screen")))
        wait.until(EC.text_to_be_present_in_element((By.ID, "customer-rows"), demo_name))
        wait.until(EC.text_to_be_present_in_element((By.ID, "customer-page"),
                                                    "of %d" % customers["total"]))
        shot("customers")

        # 4. A customer whose name is HTML shows as text.
        api(url, token, "POST", "import/customers",
            json.dumps([{"name": XSS_NAME}]))
        q = driver.find_element(By.ID, "customer-q")
        q.send_keys("onerror\n")
        wait.until(EC.text_to_be_present_in_element((By.ID, "customer-rows"), XSS_NAME))
        rows = driver.find_element(By.ID, "customer-rows")
        assert rows.find_elements(By.TAG_NAME, "img") == [], "the name became an <img>"
        assert driver.find_elements(By.CSS_SELECTOR, "main img") == []
        try:
            text = driver.switch_to.alert.text
            raise AssertionError("an alert opened: %r" % text)
        except NoAlertPresentException:
            pass
        shot("customers-html-name")

        # 5. Conflicts.
        driver.find_element(By.ID, "nav-conflicts").click()
        wait.until(EC.visibility_of_element_located((By.ID, "conflicts-screen")))
        wait.until(lambda d: d.find_element(By.ID, "conflict-rows").get_attribute("data-loaded") == "1")
        shot("conflicts")

        # 6. No JavaScript error in the console. The one expected network
        # line is the 401 of GET /admin/v1/me (and of the wrong login) that
        # tells the page there is no session yet.
        errors = []
        for entry in driver.get_log("browser"):
            if entry.get("level") != "SEVERE":
                continue
            msg = entry.get("message", "")
            if entry.get("source") == "network" and (
                    "/admin/v1/me " in msg or "/admin/v1/login " in msg) and " 401 " in msg:
                continue
            errors.append(entry)
        assert not errors, "browser console errors: %r" % errors

        # 7. Log out: the login page again, and the session is gone.
        driver.find_element(By.ID, "logout").click()
        wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
        driver.get(url + "/")
        wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
        shot("logged-out")
        print("console browser test: OK (screenshots in %s)" % outdir)
        return 0
    finally:
        if driver is not None:
            driver.quit()
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
