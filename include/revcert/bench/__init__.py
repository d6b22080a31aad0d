"""`revcert bench`: time and peak memory of every step of both pipelines on generated data.

Every measured step runs in a process of its own (`python -m revcert.bench STEP ...`), so its
peak resident memory is its own and not the benchmark's. Development tooling: production code
never imports this package.
"""
