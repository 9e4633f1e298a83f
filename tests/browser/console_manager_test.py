#!/usr/bin/python3
"""console_manager_test.py - the console as a manager bound to a territory (issue #15).

A conflict in each territory first: in north, two of Alice's devices edit
Hillside Orchards' phone offline; in south, Bob's and Carol's devices (Carol
joins south) edit Coastal Greens' phone. The account "nora", a manager of
north, is made through the API with the bearer token (docs/ADMIN-API.md
"Accounts"). Logged in as nora:

  - the admin-only screens (Reps, Pool, Users, Audit, Imports) are not
    offered: no tab;
  - Customers shows north's customers only: every row's territory is north
    and the total is north's count (GET customers?territory=north);
  - Devices shows Alice's two devices and none of Bob's or Carol's;
  - Conflicts (all) shows Hillside's record and not Coastal Greens';
  - she resolves her record through the page (resolved under user:nora);
  - the viewer "vic" of north sees Alice's devices and the record, with no
    revoke button and no decision buttons;
  - no JavaScript error; screenshots of what they see.
"""
import json
import os
import urllib.error
import urllib.request

from harness import By, Device, EC, run
from selenium.webdriver.support.ui import Select

PASSWORD = "north manager pw 1"


def rep_id(server, name):
    return [r["id"] for r in server.api("GET", "reps") if r["name"].startswith(name)][0]


def enroll_extra(server, rep_name, label):
    """A second device of a demo rep (each demo code works once)."""
    code = server.api("POST", "reps/%s/enrollment-codes" % rep_id(server, rep_name), {})["code"]
    dev = Device(server, rep_name, os.path.join(server.tmp, label + ".db"))
    dev.run("enroll", server.url, code, "--name", label)
    return dev


def conflict_on(a, b, customer_name, pa, pb):
    a.sync()
    b.sync()
    cid = a.json("customer", "search", customer_name)["rows"][0]["id"]
    a.run("customer", "edit", cid, "phone=" + pa)
    b.run("customer", "edit", cid, "phone=" + pb)
    a.sync()
    b.sync()


def test(server, browser, outdir):
    server.api("POST", "reps/%s/territories" % rep_id(server, "Carol"), {"territory": "south"})
    laptop = server.device("Alice", "alice-laptop")
    tablet = enroll_extra(server, "Alice", "alice-tablet")
    bob = server.device("Bob", "bob-handheld")
    carol = server.device("Carol", "carol-phone")
    conflict_on(laptop, tablet, "Hillside", "+44 1", "+44 2")
    conflict_on(bob, carol, "Coastal", "+44 3", "+44 4")
    records = server.items("conflicts")
    assert {k["yours"] for k in records if k["field"] == "phone"} == {"+44 2", "+44 4"}, records
    server.api("POST", "users", {"name": "nora", "role": "manager", "territories": ["north"],
                                 "password": PASSWORD})

    b = browser()
    b.login(server.url, "nora", PASSWORD)
    assert "nora (manager)" in b.find("who").text
    b.shot("manager-today")

    # Admin-only screens are not offered.
    for screen in ("reps", "pool", "users", "audit", "imports"):
        assert not b.find("nav-" + screen).is_displayed(), screen
    for screen in ("today", "customers", "conflicts", "devices"):
        assert b.find("nav-" + screen).is_displayed(), screen

    # Customers: north's only.
    north = server.api("GET", "customers?territory=north&limit=1000")
    everyone = server.api("GET", "customers?limit=1000")
    assert everyone["total"] > north["total"] > 0
    b.open("customers")
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "customer-page"), "of %d" % north["total"]))
    rows = b.find("customer-rows").find_elements(By.TAG_NAME, "tr")
    assert len(rows) == north["total"]
    assert all(r.find_elements(By.TAG_NAME, "td")[1].text == "north" for r in rows)
    b.shot("manager-customers")

    # Devices: Alice's two, nobody else's.
    b.open("devices")
    b.wait_loaded("device-rows")
    shown = b.find("device-rows").text
    assert "alice-laptop" in shown and "alice-tablet" in shown, shown
    assert "bob-handheld" not in shown and "carol-phone" not in shown, shown
    b.shot("manager-devices")

    # Conflicts: Hillside's, not Coastal Greens'.
    b.open("conflicts")
    before = b.wait_loaded("conflict-rows")
    Select(b.find("conflict-status")).select_by_value("")
    b.wait_loaded("conflict-rows", before)
    shown = b.find("conflict-rows").text
    assert "+44 2" in shown and "+44 4" not in shown and "+44 3" not in shown, shown
    b.driver.find_element(By.XPATH, "//tbody[@id='conflict-rows']/tr[contains(., '+44 2')]").click()
    b.wait.until(EC.element_to_be_clickable((By.ID, "conflict-keep-theirs"))).click()
    b.wait.until(EC.presence_of_element_located((By.ID, "conflict-decision")))
    assert "user:nora" in b.find("conflict-decision").text
    mine = [k for k in server.items("conflicts?status=resolved") if k["yours"] == "+44 2"]
    assert mine and mine[0]["resolved_by"] == "user:nora", mine
    b.shot("manager-conflicts")

    # The page only offers; the server enforces: nora's session asking for
    # an admin route directly is refused.
    cookie = b.driver.get_cookie("fss_session")
    req = urllib.request.Request(server.url + "/admin/v1/users")
    req.add_header("Cookie", "fss_session=" + cookie["value"])
    try:
        urllib.request.urlopen(req, timeout=60)
        raise AssertionError("a manager read the accounts")
    except urllib.error.HTTPError as e:
        assert e.code == 403, e.code
        json.loads(e.read().decode())

    b.assert_no_js_errors()

    # A viewer of north sees the same rows and is offered no change (an
    # undecided record, so only the role hides its buttons).
    conflict_on(laptop, tablet, "Hillside", "+44 5", "+44 6")
    server.api("POST", "users", {"name": "vic", "role": "viewer", "territories": ["north"],
                                 "password": PASSWORD})
    v = browser()
    v.login(server.url, "vic", PASSWORD)
    v.open("devices")
    v.wait_loaded("device-rows")
    assert "alice-laptop" in v.find("device-rows").text
    assert v.driver.find_elements(By.CSS_SELECTOR, "#device-rows button") == []
    v.open("conflicts")
    before = v.wait_loaded("conflict-rows")
    Select(v.find("conflict-status")).select_by_value("")
    v.wait_loaded("conflict-rows", before)
    v.driver.find_element(By.XPATH, "//tbody[@id='conflict-rows']/tr[contains(., '+44 6')]").click()
    v.wait.until(EC.visibility_of_element_located((By.ID, "conflict-detail")))
    assert v.find("conflict-yours-value").text == "+44 6"
    assert v.driver.find_elements(By.ID, "conflict-keep-theirs") == []
    assert v.driver.find_elements(By.ID, "conflict-decision") == []
    v.shot("viewer-conflict")
    v.assert_no_js_errors()


if __name__ == "__main__":
    import sys
    sys.exit(run(test))
