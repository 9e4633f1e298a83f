#!/usr/bin/python3
"""console_test.py - the console's shell in a real browser (issue #15).

Against `sync-server serve --demo` with one demo rep's device enrolled and
synced (harness.py), checks what the page shows against the admin API:

  - a visitor without a session sees the login form, a wrong password is
    refused on the page, Enter in the form logs in;
  - the Today numbers equal GET /admin/v1/today (with a device that synced);
  - the Customers list shows a demo customer and the total of the API;
  - a customer named `<img src=x onerror=alert(1)>` (imported through the
    admin API) shows as text: no alert, no img element;
  - the Conflicts screen loads a page with the API's total;
  - the browser console holds no JavaScript error;
  - logging out shows the login form again, and a reload too.

Each other screen has its own file beside this one (console_*_test.py);
harness.py holds what they share.
"""
from harness import By, EC, run
from selenium.common.exceptions import NoAlertPresentException

XSS_NAME = "<img src=x onerror=alert(1)>"


def test(server, browser, outdir):
    alice = server.device("Alice")
    alice.sync()
    b = browser()

    # 1. A visitor without a session gets the login page.
    b.driver.get(server.url + "/")
    b.wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
    assert not b.find("bar").is_displayed()
    b.shot("login")

    # A wrong password is refused on the page.
    b.find("login-name").send_keys("demo-admin")
    b.find("login-password").send_keys("wrong password")
    b.find("login-submit").click()
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "login-error"), "wrong name or password"))

    # 2. Log in with the keyboard (Enter submits the form).
    b.login(server.url, "demo-admin", server.password)
    b.wait.until(EC.visibility_of_element_located((By.ID, "today-screen")))
    b.wait.until(lambda d: d.find_element(By.ID, "today-numbers").get_attribute("data-loaded") == "1")
    today = server.api("GET", "today")
    assert today["devices_synced"] >= 1, "the synced device is not counted: %r" % today
    for key in ("visits_done", "visits_planned", "devices_synced", "devices_silent",
                "open_conflicts", "rejected_waiting"):
        shown = b.find("t-" + key).text
        assert shown == str(today[key]), "%s: page %r, API %r" % (key, shown, today[key])
    assert "demo-admin" in b.find("who").text
    b.shot("today")

    # 3. Customers: a demo customer's name appears, with the API's total.
    customers = server.api("GET", "customers?limit=5")
    assert customers["items"], "the demo has no customers"
    demo_name = customers["items"][0]["name"]
    b.open("customers")
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "customer-rows"), demo_name))
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "customer-page"),
                                                  "of %d" % customers["total"]))
    b.shot("customers")

    # 4. A customer whose name is HTML shows as text.
    server.api("POST", "import/customers", [{"name": XSS_NAME}])
    b.find("customer-q").send_keys("onerror\n")
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "customer-rows"), XSS_NAME))
    rows = b.find("customer-rows")
    assert rows.find_elements(By.TAG_NAME, "img") == [], "the name became an <img>"
    assert b.driver.find_elements(By.CSS_SELECTOR, "main img") == []
    try:
        text = b.driver.switch_to.alert.text
        raise AssertionError("an alert opened: %r" % text)
    except NoAlertPresentException:
        pass
    b.shot("customers-html-name")

    # 4b. The search is accent- and case-insensitive (issue 15): "muller"
    # finds a customer named "Müller", and only it.
    server.api("POST", "import/customers", [{"name": "M\u00fcller Feinkost GmbH"}])
    box = b.find("customer-q")
    box.clear()
    box.send_keys("muller\n")
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "customer-rows"),
                                                  "M\u00fcller Feinkost GmbH"))
    b.wait.until(lambda d: XSS_NAME not in b.find("customer-rows").text)
    b.shot("customers-search-folded")

    # 5. Conflicts: a page of the server's paged list, with its total.
    conflicts = server.api("GET", "conflicts?limit=5")
    b.open("conflicts")
    b.wait_loaded("conflict-rows")
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "conflict-page"),
                                                  "of %d" % conflicts["total"]))
    b.shot("conflicts")

    # 6. No JavaScript error in the console.
    b.assert_no_js_errors()

    # 7. Log out: the login page again, and the session is gone.
    b.find("logout").click()
    b.wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
    b.driver.get(server.url + "/")
    b.wait.until(EC.visibility_of_element_located((By.ID, "login-form")))
    b.shot("logged-out")


if __name__ == "__main__":
    import sys
    sys.exit(run(test))
