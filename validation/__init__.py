"""Validation of the model against real QEMU migrations (docs/validation.md).

Runs on demand (`python -m validation.run`), never in CI: it boots a tiny guest of its own under
QEMU's TCG twice on loopback and migrates it. Its parsing and comparison are unit-tested with
recorded QMP answers (tests/sim/test_validation_*.py). It may import migrationsim; nothing
imports it.
"""
