#!/usr/bin/env bash
# Build every function of template.yaml as AWS runs it (release, arm64),
# offline, and check the result:
#
#   scripts/sam-build.sh [extra `sam build` arguments]
#   sam deploy --guided           # the first time; later just `sam deploy`
#
# 1. sam, cfn-lint (+ serverless rules) and cargo-lambda from one Python
#    environment (pip-installed into .tools/venv when missing: `sam build` runs
#    cargo-lambda, which finds zig through it), and the aarch64 Rust target.
# 2. The template's lints, as in scripts/test.sh.
# 3. One `cargo lambda build --release --arm64` for all the template's binaries
#    (one cargo run links them two at a time; `sam build` alone runs one cargo
#    per function, one after another), then `sam build`, which finds them fresh
#    and copies each to .aws-sam/build/<Function>/bootstrap. OpenSSL is linked
#    statically ([workspace.metadata.lambda.build] in Cargo.toml).
# 4. readelf -d: every bootstrap needs nothing beyond glibc; sizes printed.
#
# `sam build` on its own works too (same binaries, slower); this script is what
# CI runs before `sam deploy`. Knobs: SAM_BUILD_DIR (default .aws-sam/build,
# where `sam deploy` looks; elsewhere deploy with --template-file DIR/template.yaml),
# SAM_BUILD_SKIP_PREBUILD=1, SAM_BUILD_SKIP_LINT=1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

ensure_sam_tools build
if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    log "rustup target add aarch64-unknown-linux-gnu"
    rustup target add aarch64-unknown-linux-gnu >&2
fi

# scripts/test.sh has just run the lints: SAM_BUILD_SKIP_LINT=1 skips them.
[[ -n ${SAM_BUILD_SKIP_LINT:-} ]] || lint_template template.yaml

mapfile -t binaries < <(sed -n 's/^ *Binary: *\([A-Za-z0-9_-]*\).*/\1/p' template.yaml)
((${#binaries[@]})) || die "no BuildProperties.Binary found in template.yaml"

start=$(date +%s)
if [[ -z ${SAM_BUILD_SKIP_PREBUILD:-} ]]; then
    bin_args=()
    for b in "${binaries[@]}"; do bin_args+=(--bin "$b"); done
    log "cargo lambda build --release --arm64 ${bin_args[*]}"
    cargo lambda build --release --arm64 "${bin_args[@]}"
fi
BUILD_DIR=${SAM_BUILD_DIR:-.aws-sam/build}
log "sam build --build-dir $BUILD_DIR $*"
sam build --build-dir "$BUILD_DIR" "$@"
log "built ${#binaries[@]} functions in $(($(date +%s) - start)) s"

mapfile -t bootstraps < <(find "$BUILD_DIR" -name bootstrap -type f | sort)
((${#bootstraps[@]} == ${#binaries[@]})) ||
    die "expected ${#binaries[@]} bootstrap files under $BUILD_DIR, found ${#bootstraps[@]}"
check_bootstrap_libs "${bootstraps[@]}" || die "a Lambda binary needs a shared library beyond glibc"

printf '%-28s %10s %12s\n' function bytes zipped >&2
for f in "${bootstraps[@]}"; do
    fn=${f#"$BUILD_DIR"/}
    fn=${fn%/bootstrap}
    printf '%-28s %10d %12d\n' "$fn" "$(stat -c %s "$f")" "$(gzip -9c "$f" | wc -c)" >&2
done
log "next: sam deploy --guided (first time) or sam deploy"
