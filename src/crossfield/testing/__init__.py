"""Test utilities shipped with crossfield: a fake LLM endpoint (`fake_llm.FakeLLMServer`) for testing and
benchmarking the LLM judge offline."""

from crossfield.testing.fake_llm import FakeLLMServer, FakeRequest, Scripted

__all__ = ["FakeLLMServer", "FakeRequest", "Scripted"]
