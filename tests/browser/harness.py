"""harness.py - what every console browser test shares (issue #15).

- Server(binary, client): `sync-server serve --demo` on a free port with a
  temporary store; knows the URL, the admin token, the demo-admin password
  and the demo's reps with their enrollment codes.
- server.device(rep_name): a field-client replica enrolled with that rep's
  demo code (Device.run(args) runs the CLI on it, Device.sync() syncs), so
  a screen can show devices that really synced.
- server.api(method, path, body): the admin API with the bearer token.
- Browser(outdir, tmp): Debian's headless chromium through chromedriver and
  python3-selenium (run with /usr/bin/python3, where Debian installs
  selenium) at 1366x768; wait (a WebDriverWait), shot(name) saves
  console-NAME.png in the output folder, login(name, password),
  assert_no_js_errors(), open(screen) clicks a tab and waits for it.

Exits 77 (ctest SKIP_RETURN_CODE) with a loud SKIPPED only when chromium,
chromedriver or selenium is missing. Every wait is an explicit wait on an
element or condition; nothing sleeps.
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
import urllib.error
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_S = 60


def skip(why):
    print("=" * 60)
    print("SKIPPED: console browser test: " + why)
    print("=" * 60)
    sys.exit(77)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.common.exceptions import (ElementNotInteractableException,
                                            StaleElementReferenceException)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError as e:
    skip("python3-selenium missing (%s)" % e)
for tool in (CHROMIUM, CHROMEDRIVER):
    if not os.access(tool, os.X_OK):
        skip(tool + " missing")


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__("HTTP %d: %s" % (status, body))
        self.status = status
        self.body = body


class Device:
    """A field-client replica of one demo rep."""

    def __init__(self, server, rep_name, path):
        self.server = server
        self.rep = server.rep(rep_name)
        self.db = path

    def run(self, *args, check=True):
        p = subprocess.run([self.server.client, "--db", self.db] + list(args),
                           capture_output=True, text=True, timeout=WAIT_S)
        if check and p.returncode != 0:
            raise RuntimeError("field-client %s: exit %d\n%s%s" %
                               (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def json(self, *args):
        return json.loads(self.run("--json", *args).stdout)

    def sync(self, check=True):
        return self.run("sync", check=check)


class Server:
    """The demo server; stop() ends it and removes its folder."""

    def __init__(self, binary, client=None, extra=()):
        self.binary = binary
        self.client = client
        self.tmp = tempfile.mkdtemp(prefix="fs-console-test-")
        self.proc = subprocess.Popen(
            [binary, "serve", "--demo", "--port", "0",
             "--db", os.path.join(self.tmp, "demo.db")] + list(extra),
            cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        found = {}
        lines = []
        ready = threading.Event()

        def read():
            for line in self.proc.stdout:
                lines.append(line)
                for key, pat in (("url", r"listening on (http://\S+)"),
                                 ("console", r"console: (http://\S+)/ "),
                                 ("token", r"Authorization: Bearer (\S+)\)"),
                                 ("demo", r"demo json: (.*)$"),
                                 ("password", r"back-office login \(made for this demo\): demo-admin / (\S+)")):
                    m = re.search(pat, line)
                    if m:
                        found[key] = m.group(1)
                if "password" in found:
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(WAIT_S) or "password" not in found or "url" not in found:
            self.stop()
            raise RuntimeError("the demo server did not start:\n" + "".join(lines))
        if found.get("console") != found["url"]:
            self.stop()
            raise RuntimeError("the banner names no console URL:\n" + "".join(lines))
        self.url = found["url"]
        self.password = found["password"]
        self.token = found.get("token")
        self.demo = json.loads(found.get("demo", "{}"))
        assert self.token, "the demo banner printed no admin token"

    def rep(self, name):
        """The demo rep whose name starts with name: {id, name, enrollment_code, ...}."""
        for r in self.demo.get("reps", []):
            if r.get("name", "").startswith(name):
                return r
        raise KeyError("no demo rep %r in %r" % (name, self.demo))

    def device(self, rep_name, label=None):
        """A field-client enrolled with the rep's demo code (each code works once)."""
        if not self.client:
            raise RuntimeError("Server was started without the field-client binary")
        d = Device(self, rep_name, os.path.join(self.tmp, (label or rep_name) + ".db"))
        d.run("enroll", self.url, d.rep["enrollment_code"], "--name", label or rep_name)
        return d

    def api(self, method, path, body=None, ctype="application/json", raw=False):
        data = None
        if body is not None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
        req = urllib.request.Request(self.url + "/admin/v1/" + path, method=method, data=data)
        req.add_header("Authorization", "Bearer " + self.token)
        if body is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, timeout=WAIT_S) as r:
                text = r.read().decode()
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, e.read().decode())
        return text if raw else json.loads(text)

    def items(self, path):
        """The rows of a list (a page's items, up to 1000, or an array)."""
        d = self.api("GET", path + ("&" if "?" in path else "?") + "limit=1000")
        return d["items"] if isinstance(d, dict) else d

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=WAIT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        shutil.rmtree(self.tmp, ignore_errors=True)


class Browser:
    """Headless chromium at a laptop's 1366x768."""

    def __init__(self, outdir, tmp):
        os.makedirs(outdir, exist_ok=True)
        self.outdir = outdir
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-dev-shm-usage", "--window-size=1366,768",
                  "--user-data-dir=" + os.path.join(tmp, "chromium-%d" % id(self))):
            opts.add_argument(a)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.driver.set_page_load_timeout(WAIT_S)
        self.wait = WebDriverWait(self.driver, WAIT_S)

    def shot(self, name):
        self.driver.save_screenshot(os.path.join(self.outdir, "console-%s.png" % name))

    def find(self, element_id):
        return self.driver.find_element(By.ID, element_id)

    def _act(self, by, value, do):
        """Finds the element and does it, again while the page is still
        drawing it (not interactable yet, or replaced by a redraw): on a
        loaded machine the page draws late, and a test must not fail on
        that, only on what the page ends up showing."""
        def attempt(_):
            try:
                do(self.driver.find_element(by, value))
                return True
            except (ElementNotInteractableException, StaleElementReferenceException):
                return False
        self.wait.until(attempt)

    def click(self, by, value):
        self._act(by, value, lambda e: e.click())

    def keys(self, by, value, text):
        """send_keys; an element not interactable yet refuses before typing."""
        self._act(by, value, lambda e: e.send_keys(text))

    def login(self, url, name, password):
        """Opens the console and logs in; returns when the first screen shows."""
        self.driver.get(url + "/")
        self.wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
        self.find("login-name").clear()
        self.find("login-name").send_keys(name)
        self.find("login-password").send_keys(password + "\n")
        self.wait.until(EC.visibility_of_element_located((By.ID, "bar")))

    def open(self, screen):
        """Clicks the screen's tab (opening its menu first when the tab is
        an entry of a closed menu of the bar) and waits until it shows."""
        tab = self.find("nav-" + screen)
        if not tab.is_displayed():
            menus = tab.find_elements(By.XPATH, "ancestor::div[contains(@class, 'menu-box')]/button")
            if menus:
                menus[0].click()
        self.click(By.ID, "nav-" + screen)
        self.wait.until(EC.visibility_of_element_located((By.ID, screen + "-screen")))

    def wait_loaded(self, element_id, after=None):
        """Waits until the element's data-loaded is set (and differs from after)."""
        self.wait.until(lambda d: d.find_element(By.ID, element_id).get_attribute("data-loaded")
                        not in (None, "", after))
        return self.find(element_id).get_attribute("data-loaded")

    def assert_no_js_errors(self, allowed_401=("/admin/v1/me ", "/admin/v1/login ")):
        """No SEVERE browser log line, except the 401s that tell the page
        there is no session yet (GET me, a refused login)."""
        errors = []
        for entry in self.driver.get_log("browser"):
            if entry.get("level") != "SEVERE":
                continue
            msg = entry.get("message", "")
            if entry.get("source") == "network" and " 401 " in msg and \
                    any(p in msg for p in allowed_401):
                continue
            errors.append(entry)
        assert not errors, "browser console errors: %r" % errors

    def quit(self):
        self.driver.quit()


def run(test):
    """main() for a test file: test(server, browser_factory, outdir, args).
    argv: SYNC_SERVER_BINARY OUTPUT_DIR [FIELD_CLIENT_BINARY]."""
    if len(sys.argv) not in (3, 4):
        print("usage: %s SYNC_SERVER_BINARY OUTPUT_DIR [FIELD_CLIENT_BINARY]" % sys.argv[0],
              file=sys.stderr)
        return 2
    binary, outdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    client = os.path.abspath(sys.argv[3]) if len(sys.argv) == 4 else None
    server = Server(binary, client)
    browsers = []

    def browser():
        b = Browser(outdir, server.tmp)
        browsers.append(b)
        return b

    try:
        test(server, browser, outdir)
        print("%s: OK (screenshots in %s)" % (os.path.basename(sys.argv[0]), outdir))
        return 0
    finally:
        for b in browsers:
            b.quit()
        server.stop()
