# push_rounds.awk - where the timed push rounds of bench_merge spend their
# time, from `perf script -F ip,sym` of a perf record --call-graph dwarf:
# keeps the samples under fss_handle_sync inside run_case and not under
# drain() (the untimed pull rounds), and prints the share of each callee of
# fss_handle_sync, one and two levels down. See docs/BENCHMARKS.md.
BEGIN { RS = ""; FS = "\n" }
{
    n = 0; drained = 0; timed = 0; pos = 0
    for (i = 1; i <= NF && i <= 512; i++) {
        line = $i
        sub(/^[ \t]*[0-9a-f]+ /, "", line)
        fr[++n] = line
        if (line ~ /^drain/) drained = 1
        if (line ~ /^run_case/) timed = 1
        if (!pos && line == "fss_handle_sync") pos = n
    }
    if (!pos || drained || !timed) next
    total++
    one[(pos > 1) ? fr[pos - 1] : "(self)"]++
    two[((pos > 1) ? fr[pos - 1] : "(self)") " > " ((pos > 2) ? fr[pos - 2] : "(self)")]++
}
END {
    if (!total) { print "no push-round samples"; exit 1 }
    print "push-round samples: " total
    for (k in one) printf "%6.2f%% %s\n", 100 * one[k] / total, k | "sort -rn | head -20"
    close("sort -rn | head -20")
    print "----"
    for (k in two) printf "%6.2f%% %s\n", 100 * two[k] / total, k | "sort -rn | head -25"
}
