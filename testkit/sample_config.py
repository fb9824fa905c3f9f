"""The sample topics of the bundled config.toml (without `alert`), for configs that tests and benchmarks
write: one copy, so a change to the samples' queries is made once."""

from __future__ import annotations

SAMPLE_TOPICS = """
[terms]
dprk = ["DPRK", "North Korea*", "North Korean*", "Pyongyang", "KPA"]

[topics."DPRK troops"]
query = "@dprk AND (troop* OR soldier* OR deploy*)"

[topics."Russia sanctions"]
query = "(Russia OR Russian OR Moscow OR Kremlin) AND sanction*"
"""
