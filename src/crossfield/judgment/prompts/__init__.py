"""Versioned judge prompts, as data: one directory per version (`v1/`, `v2/`) holding `prompt.toml` (id and
description), `system.md` (the shared, cacheable prefix) and `user.md.j2` (the per-chunk Jinja2 template).

Loaded by `crossfield.judgment.llm.prompt.load_prompt`; the sha256 of a directory's files is the prompt hash
recorded on every hypothesis and call."""
