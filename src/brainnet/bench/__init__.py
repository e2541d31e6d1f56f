"""Benchmarks that measure brainnet's rules on real models and write the numbers as JSON
under bench/results/ (`brainnet bench …`). A benchmark measures; the tests check."""
