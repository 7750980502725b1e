# Reads callgrind dumps (run with --demangle=no) and prints the symbols of the given executable
# that ran, one per line, each once, grouped by phase: the idle node following the chain first,
# then start-up and catch-up, then answering GraphQL; within a group by own cost, highest first.
# Usage: awk -v exe=<path of the executable> -f order.awk <dump files>
FNR == 1 { phase = ""; delete obname; delete fnname; ob = "" }
/^desc: Trigger: .*phase-/ {
    match($0, /phase-[a-z]+/)
    p = substr($0, RSTART + 6, RLENGTH - 6)
    phase = (p == "ready") ? 2 : (p == "idle") ? 1 : (p == "queried") ? 3 : ""
}
# "ob=(3) /path" defines id 3; "ob=(3)" refers to it again.
/^c?ob=/ {
    id = $1; sub(/^c?ob=/, "", id)
    name = substr($0, index($0, ")") + 2)
    if (name != "") obname[id] = name
    if ($0 ~ /^ob=/) ob = obname[id]
    next
}
/^c?fn=/ {
    id = $1; sub(/^c?fn=/, "", id)
    name = substr($0, index($0, ")") + 2)
    # callgrind marks recursion levels with 'N; "0x…" and "(below main)" are not symbols
    sub(/'[0-9]+$/, "", name)
    if (name != "") fnname[id] = name
    if ($0 ~ /^fn=/) {
        cur = (ob == exe && phase != "" && fnname[id] !~ /^(0x|\()/) ? fnname[id] : ""
        skip = 0
    }
    next
}
/^calls=/ { skip = 1; next }
# A cost line: "<position> <Ir>". After "calls=", the next cost line is the call's inclusive cost.
/^[0-9+*-]/ {
    if (skip) { skip = 0; next }
    if (cur != "") {
        cost[phase, cur] += $2
        seen[cur] = 1
    }
}
END {
    for (p = 1; p <= 3; p++) {
        n = 0
        for (k in cost) {
            split(k, parts, SUBSEP)
            if (parts[1] == p && !(parts[2] in printed)) { n++; names[n] = parts[2]; c[n] = cost[k] }
        }
        # insertion sort by cost, highest first (a few thousand names)
        for (i = 2; i <= n; i++) {
            nm = names[i]; cv = c[i]; j = i - 1
            while (j > 0 && c[j] < cv) { names[j + 1] = names[j]; c[j + 1] = c[j]; j-- }
            names[j + 1] = nm; c[j + 1] = cv
        }
        for (i = 1; i <= n; i++) { print names[i]; printed[names[i]] = 1 }
        delete names; delete c
    }
}
