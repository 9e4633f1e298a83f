#!/usr/bin/python3
"""console_nav_test.py - the console's bar on a 1366x768 laptop (issue #15 point 5).

Against the demo server, in a 1366x768 window, as an admin with a long
account name (every screen; twelve tabs and a long name did not fit one
row) and as a manager of north (no admin screen):

  - the bar is one row: every tab and menu button shown has the same top,
    and the bar is no taller than one button and its padding;
  - no screen scrolls sideways (the page is no wider than the window),
    measured once the screen's requests are answered;
  - every screen is reached with the keyboard alone: Tab from the start of
    the page to its tab (or to its menu's button, Enter to open the menu,
    Tab to the entry), Enter, and the screen shows with its tab marked
    aria-current; the menu's button says aria-expanded, and Escape closes
    the menu and gives the focus back to its button;
  - no JavaScript error; screenshots of the bar, the open menu and the
    screens reached by keyboard.
"""
from harness import By, run
from selenium.webdriver.common.keys import Keys

PASSWORD = "nav test password 1"
LONG_ADMIN = "margaret.montgomery-whitfield@north-west.example"


def settled(b):
    """Waits until the page's requests are answered (FS.inflight, core.js)."""
    b.wait.until(lambda d: d.execute_script("return FS.inflight === 0"))


def bar_is_one_row(b, who):
    tops = b.driver.execute_script("""
        const items = Array.from(document.querySelectorAll('#nav > .tab, #nav > .menu-box'))
          .filter(function (e) { return e.offsetParent !== null; });
        return items.map(function (e) { return Math.round(e.getBoundingClientRect().top); });""")
    assert tops and len(set(tops)) == 1, (who, tops)
    bar, button = b.driver.execute_script("""
        return [document.getElementById('bar').getBoundingClientRect().height,
                document.querySelector('#nav .tab').getBoundingClientRect().height];""")
    assert bar < 2 * button, (who, bar, button)
    # Side by side: nothing of the bar overlaps the next thing or leaves the
    # window (a row that does not fit would otherwise overflow unseen).
    boxes = b.driver.execute_script("""
        const items = [document.querySelector('#bar .brand')]
          .concat(Array.from(document.querySelectorAll('#nav > .tab, #nav > .menu-box')))
          .concat([document.getElementById('who'), document.getElementById('logout')])
          .filter(function (e) { return e.offsetParent !== null; });
        return items.map(function (e) {
          const r = e.getBoundingClientRect();
          return [e.id || e.className, r.left, r.right];
        });""")
    for (na, _, right), (nb, left, _) in zip(boxes, boxes[1:]):
        assert right <= left + 0.5, (who, na, right, nb, left)
    assert boxes[-1][2] <= b.driver.execute_script("return window.innerWidth"), (who, boxes[-1])


def no_sideways_scroll(b, who):
    width, inner = b.driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];")
    assert width <= inner, (who, width, inner)


def active_id(b):
    return b.driver.execute_script("return document.activeElement ? document.activeElement.id : ''")


def tab_to(b, target, menu):
    """Tab from the page's start until target has the focus; passing the
    closed menu that holds it, opens it with Enter."""
    # A click on the brand (not focusable) takes the focus off whatever had
    # it (closing an open menu) and starts the Tab order at the bar's start.
    b.driver.execute_script("window.scrollTo(0, 0);")
    b.driver.find_element(By.CSS_SELECTOR, "#bar .brand").click()
    b.driver.switch_to.active_element.send_keys(Keys.TAB)
    for _ in range(40):
        now = active_id(b)
        if now == target:
            return
        if menu and now == menu and b.find(menu).get_attribute("aria-expanded") == "false":
            b.driver.switch_to.active_element.send_keys(Keys.ENTER)
            assert b.find(menu).get_attribute("aria-expanded") == "true", menu
        b.driver.switch_to.active_element.send_keys(Keys.TAB)
    raise AssertionError("Tab never reached %s (last: %s)" % (target, active_id(b)))


def screens_of(b):
    """(name, menu button id or None) of every tab the role is offered."""
    return b.driver.execute_script("""
        return Array.from(document.querySelectorAll('#nav button.tab:not(.menu)'))
          .filter(function (t) { return !t.hidden && !t.closest('[hidden]:not(.menu-list)'); })
          .map(function (t) {
            const box = t.closest('.menu-box');
            return [t.id.slice(4), box ? box.querySelector('button.menu').id : null];
          });""")


def walk(b, who):
    b.driver.set_window_size(1366, 768)
    assert b.driver.execute_script("return window.innerWidth") == 1366
    settled(b)
    bar_is_one_row(b, who)
    b.shot("nav-" + who)
    offered = screens_of(b)
    for name, menu in offered:
        tab_to(b, "nav-" + name, menu)
        b.driver.switch_to.active_element.send_keys(Keys.ENTER)
        b.wait.until(lambda d: d.find_element(By.ID, name + "-screen").is_displayed())
        assert b.find("nav-" + name).get_attribute("aria-current") == "page", name
        if menu:
            assert b.find(menu).get_attribute("aria-expanded") == "false", menu
            assert b.find(menu).get_attribute("data-current") == "true", menu
            assert active_id(b) == menu, (name, active_id(b))
        settled(b)
        bar_is_one_row(b, who + " on " + name)
        no_sideways_scroll(b, who + " on " + name)
        b.shot("nav-%s-%s" % (who, name))
    return offered


def test(server, browser, outdir):
    server.device("Alice", "alice-laptop").sync()

    server.api("POST", "users", {"name": LONG_ADMIN, "role": "admin", "password": PASSWORD})
    a = browser()
    a.login(server.url, LONG_ADMIN, PASSWORD)
    assert a.find("who").get_attribute("title") == LONG_ADMIN + " (admin)"
    offered = walk(a, "admin")
    names = [n for n, _ in offered]
    for screen in ("today", "customers", "conflicts", "activity", "pipeline", "value",
                   "devices", "reps", "pool", "users", "audit", "imports"):
        assert screen in names, (screen, names)
    menus = sorted({m for _, m in offered if m})
    assert menus, offered
    # The menu: Enter opens it (aria-expanded, aria-controls its list),
    # Escape closes it and gives the focus back to its button.
    for menu in menus:
        tab_to(a, menu, None)
        a.driver.switch_to.active_element.send_keys(Keys.ENTER)
        assert a.find(menu).get_attribute("aria-expanded") == "true"
        listed = a.find(a.find(menu).get_attribute("aria-controls"))
        assert listed.is_displayed()
        bar_is_one_row(a, "admin, menu open")
        a.shot("nav-admin-menu-open")
        a.driver.switch_to.active_element.send_keys(Keys.TAB)
        a.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
        assert a.find(menu).get_attribute("aria-expanded") == "false"
        assert not listed.is_displayed()
        assert active_id(a) == menu
    a.assert_no_js_errors()

    server.api("POST", "users", {"name": "nav-manager", "role": "manager",
                                 "territories": ["north"], "password": PASSWORD})
    m = browser()
    m.login(server.url, "nav-manager", PASSWORD)
    offered = walk(m, "manager")
    assert [n for n, _ in offered] == ["today", "customers", "conflicts", "activity",
                                       "pipeline", "value", "devices"], offered
    assert not [mn for _, mn in offered if mn], offered
    assert not [e for e in m.driver.find_elements(By.CSS_SELECTOR, "#nav .menu-box")
                if e.is_displayed()]
    m.assert_no_js_errors()


if __name__ == "__main__":
    import sys
    sys.exit(run(test))
