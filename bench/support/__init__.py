"""What the benchmarks and the tests share: fakes (LLAMA, the Messages API), the pipeline's resources, conversation
events, a PostgreSQL server, the team's evaluation sets and their scoring. It lives here, not in tests/, because the
benchmarks need it and tests/ is no library; tests/support/ re-exports it."""
