# aggregate.awk - folds BENCH lines (bench/bench_report.h) from several runs
# into one markdown table: per (bench, case, metric) the median, min and max
# of the value, the median baseline, and the median, min and max of the
# ratio, the target and whether the median (of the ratio if there is one,
# else of the value) meets it.
#
# Input: BENCH <bench> <case> <metric> <value> <unit> [baseline=V] [ratio=V]
#        [target=T]; other lines are ignored. Keys keep their first-seen
# order. Usage: awk -f bench/aggregate.awk results.txt
# POSIX awk only (mawk on a fresh Debian): no asort, so a small insertion
# sort.

function sort_list(list, arr,    n, i, j, t) {
    n = split(list, arr, " ")
    for (i = 2; i <= n; i++) {
        t = arr[i] + 0
        for (j = i - 1; j >= 1 && arr[j] + 0 > t; j--)
            arr[j + 1] = arr[j]
        arr[j + 1] = t
    }
    return n
}

function median(list,    arr, n) {
    n = sort_list(list, arr)
    if (n == 0)
        return ""
    if (n % 2)
        return arr[(n + 1) / 2] + 0
    return (arr[n / 2] + arr[n / 2 + 1]) / 2
}

function minmax(list,    arr, n) {
    n = sort_list(list, arr)
    if (n == 0)
        return ""
    return fmt(arr[1]) " .. " fmt(arr[n])
}

function fmt(v) {
    if (v == "")
        return ""
    v += 0
    if (v >= 100 || v <= -100)
        return sprintf("%.1f", v)
    return sprintf("%.3f", v)
}

# Whether a median meets its target: "yes" / "**no**", "" when the target
# is not a comparison. Targets are ">=0.5x", "<=1.1x", "<250", ">10", or a
# bare number (must equal it); a trailing "x" is a unit, not an operator.
# The median compared is the ratio's when the line has one (ratios are what
# the x-targets mean), else the value's (absolute targets: ms, MiB, count).
function meets(target, r, v,    op, lim, x) {
    x = (r != "") ? r : v
    if (target == "" || x == "")
        return ""
    op = target
    sub(/[0-9.]+x?$/, "", op)
    lim = substr(target, length(op) + 1)
    sub(/x$/, "", lim)
    if (lim !~ /^[0-9.]+$/)
        return ""
    x += 0
    lim += 0
    if (op == ">=")
        return (x >= lim) ? "yes" : "**no**"
    if (op == "<=")
        return (x <= lim) ? "yes" : "**no**"
    if (op == "<")
        return (x < lim) ? "yes" : "**no**"
    if (op == ">")
        return (x > lim) ? "yes" : "**no**"
    if (op == "" || op == "=")
        return (x == lim) ? "yes" : "**no**"
    return ""
}

$1 == "BENCH" && NF >= 6 {
    key = $2 SUBSEP $3 SUBSEP $4
    if (!(key in seen)) {
        seen[key] = 1
        order[++nkeys] = key
        kb[key] = $2; kc[key] = $3; km[key] = $4; ku[key] = $6
    }
    vals[key] = vals[key] " " $5
    runs[key]++
    for (i = 7; i <= NF; i++) {
        split($i, kv, "=")
        name = kv[1]
        val = substr($i, length(name) + 2)
        if (name == "baseline")
            base[key] = base[key] " " val
        else if (name == "ratio")
            ratio[key] = ratio[key] " " val
        else if (name == "target")
            target[key] = val
    }
}

END {
    print "| bench | case | metric | median | min .. max | unit | baseline (median) | ratio (median) | ratio min .. max | target | met | runs |"
    print "|---|---|---|---:|---:|---|---:|---:|---:|---|---|---:|"
    for (k = 1; k <= nkeys; k++) {
        key = order[k]
        r = median(ratio[key])
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n",
            kb[key], kc[key], km[key], fmt(median(vals[key])), minmax(vals[key]),
            ku[key], fmt(median(base[key])), (r == "" ? "" : sprintf("%.3f", r)),
            (ratio[key] == "" ? "" : minmax(ratio[key])), target[key],
            meets(target[key], r, median(vals[key])), runs[key]
    }
}
