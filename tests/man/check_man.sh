#!/bin/sh
# check_man.sh PAGE: the man page renders with `man -l` without a single
# warning (groff's warnings on stderr). Skipped (ctest status 77) where man
# is not installed.
page="$1"
if ! command -v man >/dev/null 2>&1; then
    echo "SKIP: man is not installed; $page not checked"
    exit 77
fi
[ -r "$page" ] || { echo "FAIL: no page $page"; exit 1; }
warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
if [ -n "$warnings" ]; then
    echo "FAIL: $page renders with warnings:"
    echo "$warnings"
    exit 1
fi
# It must render something: a page whose macros all failed is not a page.
lines=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -E UTF-8 -l "$page" 2>/dev/null | wc -l)
[ "$lines" -gt 20 ] || { echo "FAIL: $page renders only $lines lines"; exit 1; }
echo "ok: $page ($lines lines)"
