# Shared by the benchmark scripts (sourced).

# best FILE COMMAND...: runs the command 3 times, its output to FILE, and
# prints the best wall time in nanoseconds.
best() {
  local best_ns= t0 t1 d f="$1"; shift
  for _ in 1 2 3; do
    t0=$(date +%s%N)
    "$@" > "$f" 2>/dev/null
    t1=$(date +%s%N)
    d=$((t1 - t0))
    if [ -z "$best_ns" ] || [ "$d" -lt "$best_ns" ]; then best_ns=$d; fi
  done
  echo "$best_ns"
}
