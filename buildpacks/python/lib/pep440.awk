# Picks the newest version that satisfies a PEP 440 version specifier (pyproject.toml's
# requires-python, e.g. ">=3.12", ">=3.10,<3.14", "~=3.11", "==3.13.*", "!=3.12.*").
#   awk -v spec='>=3.12' -f pep440.awk < candidates
# Input lines are "X.Y.Z" or "X.Y.Z<TAB>anything"; the whole line of the newest match is printed,
# or nothing. An unparseable specifier prints "invalid" and exits 2.
# The candidates are final releases, so pre-, post- and dev-release suffixes in the specifier
# (">=3.12.0rc1") are dropped before comparing, and local labels never occur.

# cmp(a, b): -1, 0 or 1 comparing dotted release numbers, the shorter padded with zeros.
function cmp(a, b,    x, y, nx, ny, i, n, u, v) {
  nx = split(a, x, "."); ny = split(b, y, ".")
  n = nx > ny ? nx : ny
  for (i = 1; i <= n; i++) {
    u = i <= nx ? x[i] + 0 : 0; v = i <= ny ? y[i] + 0 : 0
    if (u < v) return -1
    if (u > v) return 1
  }
  return 0
}

# prefix(v, p): whether release v starts with the components of p (for "==3.13.*").
function prefix(v, p,    x, y, nx, ny, i) {
  nx = split(v, x, "."); ny = split(p, y, ".")
  for (i = 1; i <= ny; i++) if ((i <= nx ? x[i] + 0 : 0) != y[i] + 0) return 0
  return 1
}

# ok(v, op, w, star): whether release v satisfies one clause.
function ok(v, op, w, star,    c, parts, up, i, n) {
  if (star) {
    if (op == "==") return prefix(v, w)
    if (op == "!=") return !prefix(v, w)
  }
  c = cmp(v, w)
  if (op == "==" || op == "===") return c == 0
  if (op == "!=") return c != 0
  if (op == ">=") return c >= 0
  if (op == "<=") return c <= 0
  if (op == ">") return c > 0
  if (op == "<") return c < 0
  # ~=X.Y[.Z]: at least that release, and the same release series (all parts but the last).
  if (op == "~=") {
    n = split(w, parts, ".")
    up = parts[1]
    for (i = 2; i < n; i++) up = up "." parts[i]
    return c >= 0 && prefix(v, up)
  }
  return 0
}

BEGIN {
  s = spec
  gsub(/[ \t]/, "", s)
  nclauses = s == "" ? 0 : split(s, raw, ",")
  for (i = 1; i <= nclauses; i++) {
    if (!match(raw[i], /^(~=|===|==|!=|<=|>=|<|>)/)) { print "invalid"; exit 2 }
    op[i] = substr(raw[i], 1, RLENGTH)
    w = substr(raw[i], RLENGTH + 1)
    sub(/^v/, "", w)
    sub(/^[0-9]+!/, "", w)          # epoch: CPython has none
    star[i] = 0
    if (w ~ /\.\*$/) {
      if (op[i] != "==" && op[i] != "!=") { print "invalid"; exit 2 }
      star[i] = 1; sub(/\.\*$/, "", w)
    }
    sub(/(a|b|rc|\.post|\.dev|post|dev)[0-9]*.*$/, "", w)
    sub(/\+.*$/, "", w)
    if (w !~ /^[0-9]+(\.[0-9]+)*$/) { print "invalid"; exit 2 }
    if (op[i] == "~=" && w !~ /\./) { print "invalid"; exit 2 }
    ver[i] = w
  }
}

{
  split($0, f, "\t")
  v = f[1]
  if (v !~ /^[0-9]+(\.[0-9]+)*$/) next
  for (i = 1; i <= nclauses; i++) if (!ok(v, op[i], ver[i], star[i])) next
  if (best == "" || cmp(v, best) > 0) { best = v; line = $0 }
}

END { if (line != "") print line }
