"""dhitui's benchmarks (issue 7): see bench/run and docs/benchmarks.md."""
