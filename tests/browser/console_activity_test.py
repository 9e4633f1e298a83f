#!/usr/bin/python3
"""console_activity_test.py - Activity, the visit page, the customer page,
Pipeline and Customer value in a real browser (issue #15).

Against `sync-server serve --demo` (harness.py), with two demo reps'
devices that did real work and synced: Alice (north) visits Greenfield
Farms, checking in about 111 m north of it, sends a EUR quote and opens a
ticket; Bob (south) visits Sunvale Vineyards, checking in about 700 m
away, and sends a USD quote. Then, as demo-admin:

  - Activity: the per-rep-per-day rows and the visits' total equal GET
    activity and GET visits; an outcome holding HTML shows as text;
  - a visit's page: the check-in and the customer on a Leaflet map (a
    table where Debian's libjs-leaflet is absent), the distance the
    server returned (distance_m), the verification and time-check flags;
    Escape goes back;
  - the customer page (from Customers): grade, risk and its reason as GET
    customers/{id} has them, the visit timeline (a visit opens its page),
    the quote's total formatted from minor units, the open ticket;
  - Pipeline: counts and values per status and currency equal GET
    pipeline, a Chart.js chart where libjs-chart.js is installed, the
    quotes list;
  - Customer value: each currency of GET reports/value, the at-risk
    customers with their reasons, the waiting ticket;
  - no JavaScript error; a screenshot of each;
  - with /vendor/ blocked (as without the Debian packages): the visit's
    two positions as a table, Pipeline and Customer value as tables.

And as a manager of the north (made through POST users): the south's
visit, rep, quote and currency do not show on Activity or Pipeline.
"""
import os

from harness import By, EC, run
from selenium.webdriver.common.keys import Keys

LEAFLET = os.path.exists("/usr/share/javascript/leaflet/leaflet.js")
CHARTJS = os.path.exists("/usr/share/javascript/chart.js/chart.min.js")
HTML_OUTCOME = "<b>ordered</b> 2 pallets"


def customer(server, name):
    found = server.api("GET", "customers?q=" + name.split()[0])["items"]
    for c in found:
        if c["name"] == name:
            return c
    raise AssertionError("no demo customer %r in %r" % (name, found))


def field_work(dev, cust, dlat, dlon, outcome, currency, ticket=None):
    """A visit checked in (dlat/dlon degrees off the customer) and out, a
    sent quote of 2 x 10.50, a ticket; then a sync."""
    dev.sync()
    visit = dev.json("visit", "plan", cust["id"])["id"]
    dev.run("visit", "checkin", visit, "--lat", str(cust["lat"] + dlat),
            "--lon", str(cust["lon"] + dlon), "--accuracy", "10")
    dev.run("visit", "checkout", visit, "--outcome", outcome)
    quote = dev.json("quote", "new", cust["id"], currency)["id"]
    dev.run("quote", "line-add", quote, "--qty", "2", "--price", "10.50", "--desc", "crates")
    dev.run("quote", "send", quote)
    if ticket:
        dev.run("ticket", "open", cust["id"], "--kind", "complaint", "--subject", ticket)
    dev.sync()
    return visit


def row_with(b, tbody_id, text):
    """The first row of the table body holding text."""
    for tr in b.find(tbody_id).find_elements(By.TAG_NAME, "tr"):
        if text in tr.text:
            return tr
    raise AssertionError("no row with %r in %s: %r" % (text, tbody_id, b.find(tbody_id).text))


def fact(b, facts_id, key):
    return b.driver.find_element(By.CSS_SELECTOR, "#%s dd[data-key='%s']" % (facts_id, key)).text


def fmt_distance(m):
    return "%d m" % round(m) if m < 1000 else "%.2f km" % (m / 1000)


def money(b, minor, currency):
    return b.driver.execute_script("return fieldsyncFmtMoney(arguments[0], arguments[1]);",
                                   minor, currency)


def check_visit_page(b, v):
    b.wait.until(lambda d: d.find_element(By.ID, "visit-map-box").get_attribute("data-loaded") == "1")
    want_map = "leaflet" if LEAFLET else "table"
    assert b.find("visit-map-box").get_attribute("data-map") == want_map
    if LEAFLET:
        # Two points and the line between them drawn, a scale, no tiles.
        assert len(b.driver.find_elements(By.CSS_SELECTOR, "#visit-map path.leaflet-interactive")) == 3
        assert b.driver.find_elements(By.CSS_SELECTOR, "#visit-map .leaflet-control-scale")
        assert not b.driver.find_elements(By.CSS_SELECTOR, "#visit-map img.leaflet-tile")
    assert fact(b, "visit-facts", "distance") == fmt_distance(v["distance_m"]), \
        (fact(b, "visit-facts", "distance"), v["distance_m"])
    assert fact(b, "visit-facts", "verification") == v["verification"]
    assert fact(b, "visit-facts", "time_check") == v["time_check"]
    assert fact(b, "visit-facts", "rep") == v["rep_name"]
    assert fact(b, "visit-facts", "id") == v["id"]


def test(server, browser, outdir):
    gf = customer(server, "Greenfield Farms")
    sv = customer(server, "Sunvale Vineyards")
    alice, bob = server.device("Alice"), server.device("Bob")
    a_visit = field_work(alice, gf, 0.001, 0.0, HTML_OUTCOME, "EUR", ticket="late delivery")
    field_work(bob, sv, 0.0, 0.01, "south visit", "USD")
    server.api("POST", "analyze", {})

    b = browser()
    b.login(server.url, "demo-admin", server.password)

    # 1. Activity: per rep per day, and the visits.
    activity = server.api("GET", "activity")
    visits = server.api("GET", "visits")
    assert len(activity) == 2 and visits["total"] == 2, (activity, visits)
    b.open("activity")
    b.wait_loaded("activity-rows")
    b.wait_loaded("visit-rows")
    for a in activity:
        tr = row_with(b, "activity-rows", a["rep_name"])
        cells = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        assert cells[0] == a["day"] and cells[2] == str(a["visits"]) and \
            cells[5] == str(a["verified"]) and cells[6] == str(a["outside_geofence"]), (cells, a)
    assert b.find("visit-page").text == "1-2 of 2"
    assert HTML_OUTCOME in b.find("visit-rows").text
    assert b.find("visit-rows").find_elements(By.TAG_NAME, "b") == []
    assert "format=csv" in b.find("activity-csv").get_attribute("href")
    b.shot("activity")
    # A rep's day narrows the visits to that rep and day (keyboard: Enter).
    before = b.find("visit-rows").get_attribute("data-loaded")
    row_with(b, "activity-rows", "Alice Martin").send_keys(Keys.ENTER)
    b.wait_loaded("visit-rows", before)
    assert b.find("visit-page").text == "1-1 of 1"
    assert "Sunvale" not in b.find("visit-rows").text
    alice_day = next(a for a in activity if a["rep_name"] == "Alice Martin")
    narrowed = server.api("GET", "visits?rep=%s&from=%s&to=%s" % (alice_day["rep"], alice_day["day"],
                                                                  alice_day["day"]))
    assert narrowed["total"] == 1 and narrowed["items"][0]["id"] == a_visit
    assert "rep=" + alice_day["rep"] in b.find("visit-csv").get_attribute("href")
    # Back to every visit.
    for name in ("from", "to"):
        b.find("visit-" + name).send_keys(Keys.BACKSPACE * 3)  # clears a date field
    b.driver.execute_script("document.getElementById('visit-rep').value = '';")
    before = b.find("visit-rows").get_attribute("data-loaded")
    b.find("activity-filters").submit()
    b.wait_loaded("visit-rows", before)
    assert b.find("visit-page").text == "1-2 of 2", b.find("visit-page").text

    # 2. A visit's page, from the list; Escape goes back.
    v = next(x for x in visits["items"] if x["id"] == a_visit)
    assert v["verification"] == "verified" and 100 < v["distance_m"] < 125, v
    row_with(b, "visit-rows", "Greenfield Farms").click()
    check_visit_page(b, v)
    b.shot("visit")
    b.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    b.wait.until(EC.visibility_of_element_located((By.ID, "visit-rows")))
    # The south's visit is outside the geofence.
    sv_visit = next(x for x in visits["items"] if x["customer_id"] == sv["id"])
    row_with(b, "visit-rows", "Sunvale Vineyards").click()
    check_visit_page(b, sv_visit)
    assert sv_visit["verification"] == "outside_geofence"

    # 3. The customer page, from Customers.
    page = server.api("GET", "customers/" + gf["id"])
    c = page["customer"]
    b.open("customers")
    b.wait_loaded("customer-rows")
    b.find("customer-q").send_keys("Greenfield\n")
    b.wait.until(EC.text_to_be_present_in_element((By.ID, "customer-page"), "1-1 of 1"))
    row = row_with(b, "customer-rows", "Greenfield Farms")
    row.send_keys("\n")  # the keyboard opens it too
    b.wait.until(EC.visibility_of_element_located((By.ID, "customer-facts")))
    assert fact(b, "customer-facts", "grade") == (c["grade"] or "")
    assert fact(b, "customer-facts", "risk") == (c["risk"] or "")
    assert fact(b, "customer-facts", "risk_reason") == (c["risk_reason"] or "")
    assert fact(b, "customer-facts", "owner") == "Alice Martin"
    assert fact(b, "customer-facts", "open_tickets") == "1"
    assert len(b.find("cust-visits-rows").find_elements(By.TAG_NAME, "tr")) == len(page["visits"])
    q = next(x for x in page["quotes"] if x["status"] == "sent")
    assert q["total"] == 2100, q
    assert money(b, q["total"], "EUR") in b.find("cust-quotes-rows").text
    assert "late delivery" in b.find("cust-tickets-rows").text
    b.shot("customer-page")
    row_with(b, "cust-visits-rows", "Alice Martin").click()
    check_visit_page(b, v)
    b.driver.find_element(By.CSS_SELECTOR, "#customers-screen button.back").click()
    b.wait.until(EC.visibility_of_element_located((By.ID, "customer-facts")))

    # 4. Pipeline.
    pipe = server.api("GET", "pipeline")
    b.open("pipeline")
    b.wait_loaded("pipeline-summary")
    b.wait_loaded("quote-rows")
    for g in pipe["quotes"]:
        tr = row_with(b, "pipeline-quotes-rows", g["currency"])
        cells = [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        assert cells == [g["status"], g["currency"], str(g["count"]),
                         money(b, g["value"], g["currency"]), str(g["unpriced"])], (cells, g)
    assert {g["currency"] for g in pipe["quotes"]} == {"EUR", "USD"}
    assert b.find("pipeline-summary").get_attribute("data-chart") == ("chart.js" if CHARTJS else "none")
    if CHARTJS:
        assert b.find("pipeline-quotes-chart").is_displayed()
    assert "Greenfield Farms" in b.find("quote-rows").text
    assert b.find("pipeline-csv").get_attribute("href").endswith("/admin/v1/pipeline?format=csv")
    b.shot("pipeline")

    # 5. Customer value.
    value = server.api("GET", "reports/value")
    risk = server.api("GET", "reports/at-risk")
    b.open("value")
    b.wait_loaded("value-reports")
    for cur in value["currencies"]:
        assert b.find("value-" + cur["currency"]).is_displayed()
        assert len(b.find("value-%s-matrix-rows" % cur["currency"]).find_elements(By.TAG_NAME, "tr")) == \
            max(1, min(100, len(cur["customers"])))
    # Every matrix row by name (GET customer-names for those the reports
    # do not name), never a bare id.
    names = {c["id"]: c["name"] for c in server.api("GET", "customers?limit=1000")["items"]}
    for cur in value["currencies"]:
        shown = b.find("value-%s-matrix-rows" % cur["currency"]).text
        for c in cur["customers"]:
            assert names[c["id"]] in shown, (names[c["id"]], shown)
    for r in risk:
        tr = row_with(b, "value-at-risk-rows", r["name"])
        assert r["risk_reason"] in tr.text
    assert "late delivery" in b.find("value-tickets-rows").text
    # Every list of the screen has its CSV, and it is the API's.
    for link, path, header in (
            ("value-grades-csv", "reports/value?format=csv", "currency,customer_id,grade,"),
            ("value-pareto-csv", "reports/value?table=pareto&format=csv", "currency,top_customers_pct,"),
            ("value-movements-csv", "reports/movements?format=csv", "territory,from_grade,"),
            ("value-at-risk-csv", "reports/at-risk?format=csv", "customer_id,name,"),
            ("value-lost-csv", "reports/lost?format=csv", "reason,customer_id,name"),
            ("value-tickets-csv", "tickets?format=csv", "ticket_id,customer_id,"),
            ("value-sat-rep-csv", "reports/satisfaction?format=csv", "rep,surveys,"),
            ("value-sat-territory-csv", "reports/satisfaction?table=territory&format=csv", "territory,surveys,"),
            ("value-sat-month-csv", "reports/satisfaction?table=month&format=csv", "month,surveys,")):
        href = b.find(link).get_attribute("href")
        assert href.endswith("/admin/v1/" + path), (link, href)
        assert server.api("GET", path, raw=True).startswith(header), link
    assert "late delivery" in server.api("GET", "tickets?format=csv", raw=True)
    b.shot("value")
    b.assert_no_js_errors()

    # 6. Without Leaflet and Chart.js (the browser refuses /vendor/, as if
    # the Debian packages were not installed): tables instead.
    nv = browser()
    nv.driver.execute_cdp_cmd("Network.enable", {})
    nv.driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/vendor/*"]})
    nv.login(server.url, "demo-admin", server.password)
    nv.open("activity")
    nv.wait_loaded("visit-rows")
    row_with(nv, "visit-rows", "Greenfield Farms").click()
    nv.wait.until(lambda d: d.find_element(By.ID, "visit-map-box").get_attribute("data-loaded") == "1")
    assert nv.find("visit-map-box").get_attribute("data-map") == "table"
    points = nv.find("visit-points-rows").text
    assert "%.5f, %.5f" % (gf["lat"] + 0.001, gf["lon"]) in points, points
    assert "%.5f, %.5f" % (gf["lat"], gf["lon"]) in points, points
    assert fact(nv, "visit-facts", "distance") == fmt_distance(v["distance_m"])
    nv.shot("visit-without-leaflet")
    nv.open("pipeline")
    nv.wait_loaded("pipeline-summary")
    assert nv.find("pipeline-summary").get_attribute("data-chart") == "none"
    assert not nv.find("pipeline-quotes-chart").is_displayed()
    assert "EUR" in nv.find("pipeline-quotes-rows").text
    nv.open("value")
    nv.wait_loaded("value-reports")
    assert nv.find("value-reports").get_attribute("data-chart") == "none"
    assert nv.driver.find_elements(By.CSS_SELECTOR, "#value-reports canvas") == []
    nv.shot("pipeline-without-chartjs")
    errors = [e for e in nv.driver.get_log("browser")
              if e.get("level") == "SEVERE" and "/vendor/" not in e.get("message", "")
              and "/admin/v1/me " not in e.get("message", "")]
    assert not errors, errors

    # 7. A manager of the north sees none of the south.
    server.api("POST", "users", {"name": "north-manager", "role": "manager",
                                 "territories": ["north"], "password": "manager-pass-1"})
    m = browser()
    m.login(server.url, "north-manager", "manager-pass-1")
    m.open("activity")
    m.wait_loaded("activity-rows")
    m.wait_loaded("visit-rows")
    assert "Alice Martin" in m.find("activity-rows").text
    assert "Bob Okafor" not in m.find("activity-rows").text
    assert "Greenfield Farms" in m.find("visit-rows").text
    assert "Sunvale" not in m.find("visit-rows").text
    assert m.find("visit-page").text == "1-1 of 1"
    reps = [o.text for o in m.find("visit-rep").find_elements(By.TAG_NAME, "option")]
    assert "Bob Okafor" not in reps and "Alice Martin" in reps, reps
    m.shot("activity-manager")
    m.open("pipeline")
    m.wait_loaded("pipeline-summary")
    m.wait_loaded("quote-rows")
    assert "USD" not in m.find("pipeline-quotes-rows").text
    assert "EUR" in m.find("pipeline-quotes-rows").text
    assert "Sunvale" not in m.find("quote-rows").text
    m.open("value")
    m.wait_loaded("value-reports")
    assert "Sunvale" not in m.find("value-reports").text
    m.shot("pipeline-manager")
    m.assert_no_js_errors()


if __name__ == "__main__":
    import sys
    sys.exit(run(test))
