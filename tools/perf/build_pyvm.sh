#!/bin/bash
# Builds the prototype VM module (crates/pyvm, python-vm.md §8.4) into OUT (default
# target/pyvm-pkg): the threaded wasm at opt-level 3 (the atomics flags of .cargo/config.toml
# apply: cargo finds that file walking up from crates/pyvm), its glue, then wasm-opt -O3.
# Then: node tools/perf/bench_vm_browser.mjs pyvm OUT
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/target/pyvm-pkg}
target=${CARGO_TARGET_DIR:-$root/target/pyvm}
(cd "$root/crates/pyvm" && RUSTUP_TOOLCHAIN=nightly-2026-05-20 CARGO_TARGET_DIR="$target" \
  cargo rustc --lib --release --target wasm32-unknown-unknown --crate-type cdylib -Z build-std=panic_abort,std)
rm -rf "$out"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$out" "$target/wasm32-unknown-unknown/release/threadlab_pyvm.wasm"
grep -q "shared:true" "$out/threadlab_pyvm.js" || { echo "the VM module's memory is not shared" >&2; exit 1; }
node "$root/tools/node_modules/binaryen/bin/wasm-opt" --enable-threads --enable-bulk-memory -O3 \
  --strip-target-features "$out/threadlab_pyvm_bg.wasm" -o "$out/threadlab_pyvm_bg.wasm"
echo "$out: $(wc -c < "$out/threadlab_pyvm_bg.wasm") bytes, $(gzip -9 -c "$out/threadlab_pyvm_bg.wasm" | wc -c) gzipped"
