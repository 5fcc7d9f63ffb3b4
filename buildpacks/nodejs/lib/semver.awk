# Picks the highest version that satisfies a node-semver range.
#   awk -v range='^18 || >=20.1 <21' -f semver.awk < versions
# Input lines are "VERSION" or "VERSION<TAB>ENGINE_RANGE"; with -v engine=X.Y.Z a line only counts
# when X.Y.Z satisfies its ENGINE_RANGE (an empty one always does). That picks, say, the newest
# npm that supports a given Node. Prints the match, or nothing.
# Supports what engines fields use: x-ranges (1, 1.2, 1.x, *), comparators (= > >= < <=), tilde,
# caret, hyphen ranges and ||. Pre-release versions are never picked, as node-semver does unless
# a comparator names one.

function key(maj, min, pat) { return maj * 100000000 + min * 10000 + pat }

# Adds one constraint "op key" to comparator set s.
function add(s, op, k) { n[s]++; ops[s, n[s]] = op; keys[s, n[s]] = k }

# Splits a partial version "1.2.x" into P[1..3]; returns how many leading parts are numbers, or
# -1 when it is not a version at all.
function partial(v,    a, c, i) {
  sub(/^[=v]+/, "", v)
  sub(/[-+].*$/, "", v)
  c = split(v, a, ".")
  for (i = 1; i <= 3; i++) {
    if (i > c || a[i] == "" || a[i] ~ /^[xX*]$/) return i - 1
    if (a[i] !~ /^[0-9]+$/) return -1
    P[i] = a[i] + 0
  }
  return 3
}

# Adds the constraints of one comparator (operator and partial version) to set s.
function comparator(s, op, v,    c, M, m, p) {
  P[1] = P[2] = P[3] = 0
  c = partial(v); M = P[1]; m = P[2]; p = P[3]
  if (c < 0) { bad = 1; return }
  if (op == "" || op == "=") {
    if (c == 1) { add(s, ">=", key(M, 0, 0)); add(s, "<", key(M + 1, 0, 0)) }
    else if (c == 2) { add(s, ">=", key(M, m, 0)); add(s, "<", key(M, m + 1, 0)) }
    else if (c == 3) { add(s, ">=", key(M, m, p)); add(s, "<=", key(M, m, p)) }
  } else if (op == ">") {
    if (c == 0) add(s, "<", 0)
    else if (c == 1) add(s, ">=", key(M + 1, 0, 0))
    else if (c == 2) add(s, ">=", key(M, m + 1, 0))
    else add(s, ">", key(M, m, p))
  } else if (op == ">=") {
    if (c > 0) add(s, ">=", key(M, m, p))
  } else if (op == "<") {
    add(s, "<", key(M, m, p))
  } else if (op == "<=") {
    if (c == 1) add(s, "<", key(M + 1, 0, 0))
    else if (c == 2) add(s, "<", key(M, m + 1, 0))
    else if (c == 3) add(s, "<=", key(M, m, p))
  } else if (op == "~") {
    if (c == 1) { add(s, ">=", key(M, 0, 0)); add(s, "<", key(M + 1, 0, 0)) }
    else if (c >= 2) { add(s, ">=", key(M, m, p)); add(s, "<", key(M, m + 1, 0)) }
  } else if (op == "^") {
    if (c == 0) return
    add(s, ">=", key(M, m, p))
    if (M > 0 || c == 1) add(s, "<", key(M + 1, 0, 0))
    else if (c == 3 && m == 0) add(s, "<", key(0, 0, p + 1))
    else add(s, "<", key(0, m + 1, 0))
  }
}

# Upper bound of a hyphen range's right side.
function hyphen_hi(s, v,    c) {
  P[1] = P[2] = P[3] = 0
  c = partial(v)
  if (c < 0) bad = 1
  else if (c == 1) add(s, "<", key(P[1] + 1, 0, 0))
  else if (c == 2) add(s, "<", key(P[1], P[2] + 1, 0))
  else if (c == 3) add(s, "<=", key(P[1], P[2], P[3]))
}

# Whether version key k satisfies the range parsed under prefix g.
function satisfies(g, k,    s) {
  if (invalid[g]) return 0
  for (s = 1; s <= nsets[g]; s++) if (ok(g s, k)) return 1
  return 0
}

function ok(s, k,    i, op, b) {
  for (i = 1; i <= n[s]; i++) {
    op = ops[s, i]; b = keys[s, i]
    if (op == ">=" && !(k >= b)) return 0
    if (op == ">" && !(k > b)) return 0
    if (op == "<" && !(k < b)) return 0
    if (op == "<=" && !(k <= b)) return 0
  }
  return 1
}

# Parses range r into comparator sets under prefix g (so two ranges can be held at once).
# Like node-semver, a range with anything that is not a version in it matches nothing.
function parse(g, r,    s, i, w, t, op, alt, word) {
  bad = 0
  gsub(/\t/, " ", r)
  # ">= 18" means ">=18": join each operator to the version after it.
  while (match(r, /(<=|>=|[<>=~^]) +/)) r = substr(r, 1, RSTART - 1) gensp(substr(r, RSTART, RLENGTH)) substr(r, RSTART + RLENGTH)
  nsets[g] = split(r, alt, /\|\|/)
  if (nsets[g] == 0) { nsets[g] = 1; alt[1] = "" }
  for (s = 1; s <= nsets[g]; s++) {
    n[g s] = 0
    w = split(alt[s], word, " ")
    if (w == 3 && word[2] == "-") { comparator(g s, ">=", word[1]); hyphen_hi(g s, word[3]); continue }
    for (i = 1; i <= w; i++) {
      t = word[i]
      if (match(t, /^(<=|>=|<|>|=|~>|~|\^)/)) { op = substr(t, 1, RLENGTH); t = substr(t, RLENGTH + 1) }
      else op = ""
      if (op == "~>") op = "~"
      comparator(g s, op, t)
    }
  }
  invalid[g] = bad
}



# Removes the spaces after an operator.
function gensp(x) { gsub(/ +/, "", x); return x }

function vkey(v,    a) {
  sub(/^v/, "", v)
  split(v, a, ".")
  return key(a[1] + 0, a[2] + 0, a[3] + 0)
}

BEGIN {
  FS = "\t"
  parse("r", range)
  if (engine != "") ek = vkey(engine)
  best = -1
}

$1 ~ /^v?[0-9]+\.[0-9]+\.[0-9]+$/ {
  k = vkey($1)
  if (k <= best || !satisfies("r", k)) next
  if (engine != "" && $2 != "") { parse("e", $2); if (!satisfies("e", ek)) next }
  best = k; bestv = $1; sub(/^v/, "", bestv)
}

END { if (best >= 0) print bestv }
