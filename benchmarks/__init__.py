"""Benchmarks for seedqa's performance targets (docs/PERFORMANCE.md), run with one command.

    .venv/bin/python -m benchmarks.run [latency] [cold] [build] [scale] [--chunks N] [--reps N]

Each benchmark prints a small table and writes JSON under benchmarks/results/. The machine is
shared and noisy, so every figure is a median or a ratio measured in one run with A/B
repetitions interleaved, and the load average is recorded beside each measurement.
"""
