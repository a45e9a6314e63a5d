"""Test support, in one place: fakes (LLAMA, the Messages API), pipeline resources, log segments, server fixtures."""
