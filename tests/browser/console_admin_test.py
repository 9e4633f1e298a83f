#!/usr/bin/python3
"""console_admin_test.py - the admin's team screens in a real browser (issue #15).

As the demo admin, every action through the page, every outcome checked
against the admin API:

  - Reps: add a rep, issue an enrollment code (shown once with its expiry;
    a device enrolls with it), add the rep to a territory and remove it,
    assign a customer to an owner, offboard Carol to the pool (the counts
    shown), reactivate her; a refusal (an unknown customer id) shows the
    server's text;
  - Pool: the pool lists the unowned customers; "assign to" gives one an
    owner; two imported duplicates are listed and merged after a
    confirmation;
  - Users: add a manager of territory north (a manager without territory
    is refused with the server's text), disable it (confirmation);
  - Audit: the actions just done are listed with the actor;
  - Imports: a CSV with a bad row shows each bad row's line and reason and
    imports nothing; a good JSON file imports;
  - no JavaScript error except the refusals asked for; a screenshot of
    every screen.
"""
import os
import subprocess

from harness import By, EC, run
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.support.ui import Select


def reps_by_name(server):
    return {r["name"]: r for r in server.api("GET", "reps")}


def on_row(b, tbody, row_text, act):
    """act(row element) on the row holding row_text; again if the list
    reloaded meanwhile (a stale row)."""
    def attempt(d):
        try:
            act(d.find_element(By.XPATH, "//tbody[@id='%s']/tr[contains(., %s)]" % (tbody, row_text)))
            return True
        except (StaleElementReferenceException, NoSuchElementException):
            return False
    b.wait.until(attempt)


def click_row_button(b, tbody, row_text, label):
    on_row(b, tbody, "'%s'" % row_text,
           lambda row: row.find_element(By.XPATH, ".//button[normalize-space()='%s']" % label).click())


def expect_refusals(b, path_part, status):
    """Reads the browser log: every SEVERE entry is the refusal asked for."""
    logged = [e for e in b.driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert logged, "no refusal was logged"
    assert all(path_part in e["message"] and (" %d " % status) in e["message"] for e in logged), logged


def test(server, browser, outdir):
    b = browser()
    b.login(server.url, "demo-admin", server.password)

    # --- Reps ---
    b.open("reps")
    b.wait_loaded("rep-rows")
    b.find("rep-new-name").send_keys("Erin Yamada")
    b.find("rep-new-email").send_keys("erin@example.com\n")
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "rep-rows"), "Erin Yamada"))
    erin = reps_by_name(server)["Erin Yamada"]
    assert erin["email"] == "erin@example.com"

    click_row_button(b, "rep-rows", "Erin Yamada", "Enrollment code")
    b.wait.until(EC.visibility_of_element_located((By.ID, "rep-code")))
    code = b.find("rep-code").text
    assert "Valid until" in b.find("rep-code-expiry").text
    b.shot("reps-code")
    # A device enrolls with it (the harness's Device is for demo reps).
    d = os.path.join(server.tmp, "erin.db")
    p = subprocess.run([server.client, "--db", d, "enroll", server.url, code, "--name", "erin-phone"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert reps_by_name(server)["Erin Yamada"]["devices"] == 1

    # Territories: add north through the row's select, then remove it.
    before = b.find("rep-rows").get_attribute("data-loaded")
    def add_north(row):
        Select(row.find_element(By.TAG_NAME, "select")).select_by_value("north")
        row.find_element(By.CSS_SELECTOR, "button.terr-add").click()
    on_row(b, "rep-rows", "'Erin Yamada'", add_north)
    b.wait_loaded("rep-rows", before)
    assert reps_by_name(server)["Erin Yamada"]["territories"] == ["north"]
    before = b.find("rep-rows").get_attribute("data-loaded")
    b.driver.find_element(By.CSS_SELECTOR, "button[aria-label='Remove Erin Yamada from north']").click()
    b.wait_loaded("rep-rows", before)
    assert reps_by_name(server)["Erin Yamada"]["territories"] == []

    # Assign a customer to an owner.
    customers = server.api("GET", "customers?limit=50")["items"]
    hill = [c for c in customers if c["name"].startswith("Hillside")][0]
    alice = reps_by_name(server)["Alice Martin"]
    b.find("assign-customer").send_keys(hill["id"])
    Select(b.find("assign-owner")).select_by_value(alice["id"])
    b.find("assign-go").click()
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "rep-said"), "assigned"))
    got = [c for c in server.api("GET", "customers?limit=50")["items"] if c["id"] == hill["id"]][0]
    assert got["owner_rep"] == alice["id"], got

    # Offboard Carol to the pool: counts shown; then reactivate.
    click_row_button(b, "rep-rows", "Carol Diaz", "Offboard\u2026")
    b.wait.until(EC.visibility_of_element_located((By.ID, "offboard-go"))).click()
    b.wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#rep-panel .confirm-yes"))).click()
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "offboard-result"), "customers moved"))
    assert "codes voided" in b.find("offboard-result").text
    offboards = server.api("GET", "offboards")
    assert [o["rep_name"] for o in offboards] == ["Carol Diaz"], offboards
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "rep-rows"), "offboarded"))
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "offboard-rows"), "Carol Diaz"))
    b.shot("reps-offboarded")
    click_row_button(b, "rep-rows", "Carol Diaz", "Reactivate")
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "rep-said"), "active again"))
    assert server.api("GET", "offboards")[0]["reactivated_at"] is not None
    b.shot("reps")
    b.assert_no_js_errors()

    # A refusal shows the server's text (an id that is no customer).
    b.find("assign-customer").send_keys("019a0000-0000-7000-8000-0000000fffff")
    Select(b.find("assign-owner")).select_by_value(alice["id"])
    b.find("assign-go").click()
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "status"), "no such customer"))
    b.shot("reps-refused")
    expect_refusals(b, "/assign", 404)

    # --- Pool ---
    server.api("POST", "import/customers", [
        {"name": "Twin Farms Ltd", "territory": "north", "phone": "+44 161 555 7777"},
        {"name": "Twin Farms", "territory": "north", "phone": "+44 161 555 7777"}])
    b.open("pool")
    b.wait_loaded("dup-rows")
    pool = server.api("GET", "pool")
    assert pool, "the demo has unowned customers"
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "pool-rows"), pool[0]["name"]))
    b.shot("pool")
    target = [c for c in pool if c["name"] == "Twin Farms"][0]
    def to_bob(row):
        Select(row.find_element(By.TAG_NAME, "select")).select_by_visible_text("Bob Okafor")
        row.find_element(By.CSS_SELECTOR, "button.pool-assign").click()
    on_row(b, "pool-rows", "'Twin Farms') and not(contains(., 'Ltd')", to_bob)
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "pool-said"), "now belongs to Bob Okafor"))
    assert target["id"] not in [c["id"] for c in server.api("GET", "pool")]

    dups = server.api("GET", "duplicates")
    assert len(dups) == 1, dups
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "dup-rows"), "Twin Farms"))
    click_row_button(b, "dup-rows", "Twin Farms", "Merge\u2026")
    b.wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#dup-rows .confirm-yes"))).click()
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "pool-said"), "Merged"))
    assert server.api("GET", "duplicates") == []
    assert len(server.api("GET", "merges")) == 1

    # --- Users ---
    b.open("users")
    b.wait_loaded("user-rows")
    b.find("user-new-name").send_keys("mia")
    Select(b.find("user-new-role")).select_by_value("manager")
    b.find("user-new-password").send_keys("a long password 1\n")
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "status"), "territor"))
    expect_refusals(b, "/users", 400)
    b.find("user-new-terr-north").click()
    b.find("user-new-password").send_keys("a long password 1\n")
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "user-said"), "mia (manager) added"))
    users = {u["name"]: u for u in server.api("GET", "users")}
    assert users["mia"]["role"] == "manager" and users["mia"]["territories"] == ["north"], users
    b.driver.find_element(By.CSS_SELECTOR, "button[data-user='mia']").click()
    b.wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#user-rows .confirm-yes"))).click()
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "user-said"), "mia disabled"))
    assert {u["name"]: u for u in server.api("GET", "users")}["mia"]["disabled"] is True
    b.shot("users")

    # --- Audit ---
    b.open("audit")
    b.wait_loaded("audit-rows")
    rows = b.find("audit-rows").text
    for what in ("POST /reps/Erin Yamada/enrollment-codes", "POST /users", "user:demo-admin",
                 "POST /reps/Carol Diaz/offboard", "POST /customers/Hillside Orchards/assign"):
        assert what in rows, (what, rows)
    top = server.api("GET", "audit?limit=1")[0]
    assert top["action"] in rows, (top, rows)
    b.shot("audit")

    # --- Imports ---
    bad = os.path.join(server.tmp, "customers-bad.csv")
    with open(bad, "w") as f:
        f.write("name,territory\nGood Row Farm,north\n,north\nNowhere Farm,atlantis\n")
    b.open("imports")
    b.find("import-file").send_keys(bad)
    b.find("import-go").click()
    b.wait.until(EC.presence_of_element_located((By.ID, "import-errors")))
    errors = [tr.text for tr in b.find("import-errors").find_elements(By.TAG_NAME, "tr")]
    assert len(errors) == 2, errors
    assert errors[0].startswith("3 ") and "name" in errors[0], errors
    assert errors[1].startswith("4 ") and "atlantis" in errors[1], errors
    assert "Nothing imported" in b.find("import-outcome").text
    assert server.api("GET", "customers?q=Good%20Row")["total"] == 0
    expect_refusals(b, "/import/customers", 422)
    b.shot("imports-errors")
    good = os.path.join(server.tmp, "products.json")
    with open(good, "w") as f:
        f.write('[{"sku":"H6-1","name":"Test valve","price":1250,"currency":"EUR"}]')
    Select(b.find("import-kind")).select_by_value("products")
    b.find("import-file").clear()
    b.find("import-file").send_keys(good)
    before = b.find("import-result").get_attribute("data-loaded")
    b.find("import-go").click()
    b.wait_loaded("import-result", before)
    assert b.find("import-outcome").text == "Imported.", b.find("status").text
    assert "1 rows imported" in b.find("import-said").text
    b.shot("imports")
    b.assert_no_js_errors()


if __name__ == "__main__":
    import sys
    sys.exit(run(test))
