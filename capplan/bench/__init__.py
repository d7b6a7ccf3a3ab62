"""Benchmarks behind ``capplan bench NAME``: they measure speed and quality and print figures.

Each module here registers one sub-command on :data:`capplan.commands.bench.bench_app` and
keeps its measuring code in a plain function that returns a JSON-ready dict, so tests can call
it on small sizes. Benchmarks print figures; they never assert on time.
"""
