"""gastbench's model zoo as package data: one TOML card per checkpoint and ``results/`` (committed records).

Installed as ``gastbench_zoo`` and found through the ``gastbench.zoo`` entry point, the same way an
installed plugin ships its own cards (see ``CONTRIBUTING.md``).
"""
