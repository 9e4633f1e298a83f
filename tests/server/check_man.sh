#!/bin/sh
# check_man.sh PAGE - `man -l` renders PAGE without a single warning.
# Skips (exit 77, with a message) where man is not installed.
set -eu
page=$1
if ! command -v man >/dev/null 2>&1; then
    echo "skipped: man is not installed"
    exit 77
fi
err=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || {
    echo "man -l $page failed: $err"; exit 1; }
if [ -n "$err" ]; then
    echo "man -l $page warns:"; echo "$err"; exit 1
fi
MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q "^NAME" || {
    echo "man -l $page rendered no NAME section"; exit 1; }
echo "ok: $page renders without warnings"
