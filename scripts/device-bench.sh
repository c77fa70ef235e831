#!/usr/bin/env bash
# The first look at a hardware GPU in one short command: adapters and the self-check, the GPU
# test binaries through Vulkan, then `hvp bench all`. Meant for a machine lent for minutes that
# has a driver but no Rust toolchain, so everything it runs is built beforehand:
#
#   cargo build --release --bin hvp && cargo test --release --no-run   # on an x86-64 machine
#   scripts/device-bench.sh --stage DIR     # copies hvp and the GPU test binaries into DIR
#   (on the device, in the repository root)  scripts/device-bench.sh DIR OUT
#
# OUT receives adapters.txt, tests.log, bench-all.json and bench-all.md (the device named in
# each). Where the machine lacks the Vulkan loader, put its .deb files (libvulkan1, libegl1,
# libglvnd0) in DIR/debs: they are unpacked first.
set -uo pipefail

if [[ "${1:-}" == "--stage" ]]; then
    dir=${2:?usage: $0 --stage DIR}
    mkdir -p "$dir/tests"
    cp target/release/hvp "$dir/"
    for t in gpu_kernels gpu_fft gpu_advect gpu_dispatch gpu_recording shift_groups; do
        bin=$(ls -t target/release/deps/${t}-* 2>/dev/null | grep -v '\.d$' | head -1)
        [[ -n "$bin" ]] && cp "$bin" "$dir/tests/$t"
    done
    ls -la "$dir" "$dir/tests"
    exit 0
fi

dir=${1:?usage: $0 DIR OUT}
out=${2:?usage: $0 DIR OUT}
mkdir -p "$out"
if [[ -d "$dir/debs" ]]; then
    for f in "$dir"/debs/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
# NVIDIA's driver files where the container keeps them, if the loader finds none by itself.
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[[ -f $nv && -z "${VK_DRIVER_FILES:-}" ]] && export VK_DRIVER_FILES=$nv

"$dir/hvp" adapters --check 2>&1 | tee "$out/adapters.txt"
# The tests through Vulkan on the hardware adapter: failures are reported, the bench runs on.
export HVP_REQUIRE_GPU=1 HVP_ADAPTER=vulkan:
for t in "$dir"/tests/*; do
    echo "== $(basename "$t")"
    timeout 120 "$t" 2>&1 | grep -E "^test |test result|panicked|SKIPPED" 
done 2>&1 | tee "$out/tests.log"
timeout 420 "$dir/hvp" --backend gpu --adapter vulkan: bench all --out "$out" --seconds 0.5 2>&1 \
    | tail -60
