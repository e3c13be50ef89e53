#!/usr/bin/env bash
# Bounded fuzz run of every cargo-fuzz target in fuzz/ (issue 8): the body
# parsers, the handlers' body path, the PHI detector. Not part of
# scripts/test.sh: it needs nightly and builds in release.
#
#   scripts/fuzz.sh                  every target, 30 s each
#   FUZZ_SECONDS=300 scripts/fuzz.sh phi_detect     one target, longer
#
# Installs cargo-fuzz (crates.io) and the nightly toolchain when missing.
# A crash leaves its input in fuzz/artifacts/<target>/ and fails the run;
# replay it with `cargo +nightly fuzz run <target> <file>`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root/fuzz"
secs=${FUZZ_SECONDS:-30}

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

# Seed each corpus with the sample events' bodies.
seed() {
    local target=$1 dir=corpus/$1 f body i=0
    mkdir -p "$dir"
    for f in "$root"/events/*.json; do
        body=$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1])).get("body"); print(b or "", end="")' "$f" 2>/dev/null || true)
        [[ -n $body ]] || continue
        if [[ $target == handlers ]]; then
            # First byte picks the route (index in fuzz_targets/handlers.rs).
            printf '%b%s' "\\x$(printf '%02x' "$i")" "$body" >"$dir/seed-$i"
        else
            printf '%s' "$body" >"$dir/seed-$i"
        fi
        i=$((i + 1))
    done
}

targets=("$@")
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
# No sanitizer: the workspace forbids unsafe code; libFuzzer still finds
# panics, overflows (debug assertions on) and timeouts, and builds far faster.
for t in "${targets[@]}"; do
    seed "$t"
    echo "==> fuzzing $t for ${secs}s" >&2
    # stdout carries the handlers' metric lines; libFuzzer reports on stderr.
    cargo +nightly fuzz run --sanitizer none --debug-assertions "$t" "corpus/$t" -- \
        -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 >/dev/null
done
echo "==> fuzzing done: ${targets[*]} (${secs}s each), no crash" >&2
