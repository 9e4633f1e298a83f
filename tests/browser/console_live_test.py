#!/usr/bin/python3
"""console_live_test.py - the live screens (issue #15 point 6).

Against `sync-server serve --demo` (harness.py): with the Today screen
open, a demo rep's device plans, checks in, checks out a visit and syncs;
the page's "Visits done" moves to the API's new number without a reload
(a marker set on the window before the sync is still there after it).
Then, with the Conflicts screen open, the demo's open conflict is resolved
through the API and the page's list follows without a reload. No
JavaScript error in the console.
"""
from harness import By, EC, run


def test(server, browser, outdir):
    alice = server.device("Alice")
    alice.sync()
    b = browser()
    b.login(server.url, "demo-admin", server.password)
    b.wait.until(EC.visibility_of_element_located((By.ID, "today-screen")))
    b.wait.until(lambda d: d.find_element(By.ID, "today-numbers").get_attribute("data-loaded") == "1")
    before = server.api("GET", "today")["visits_done"]
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "t-visits_done"), str(before)))
    b.driver.execute_script("window.__notReloaded = true;")

    # A device completes a visit and syncs: Today follows on its own.
    cust = alice.json("customer", "list")["rows"][0]["id"]
    visit = alice.json("visit", "plan", cust)["id"]
    alice.run("visit", "checkin", visit, "--lat", "52.52", "--lon", "13.40",
              "--accuracy", "10")
    alice.run("visit", "checkout", visit)
    alice.sync()
    after = server.api("GET", "today")["visits_done"]
    assert after == before + 1, "the synced visit is not counted: %r -> %r" % (before, after)
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "t-visits_done"), str(after)))
    assert b.driver.execute_script("return window.__notReloaded === true;"), "the page reloaded"
    b.shot("live-today")

    # Conflicts: the open list follows a decision made elsewhere.
    b.open("conflicts")
    status = b.find("conflict-status")
    for option in status.find_elements(By.TAG_NAME, "option"):
        if option.get_attribute("value") == "open":
            option.click()
    opened = server.api("GET", "conflicts?status=open")
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "conflict-page"),
                                                  "of %d" % opened["total"]))
    if opened["items"]:
        server.api("POST", "conflicts/%d/resolve" % opened["items"][0]["id"],
                   {"choice": "theirs", "by": "live-test"})
        left = server.api("GET", "conflicts?status=open")["total"]
        b.wait.until(EC.text_to_be_present_in_element((By.ID, "conflict-page"),
                                                      "of %d" % left))
    assert b.driver.execute_script("return window.__notReloaded === true;"), "the page reloaded"
    b.shot("live-conflicts")
    b.assert_no_js_errors()


if __name__ == "__main__":
    import sys
    sys.exit(run(test))
