"""The use cases both front ends call (docs/architecture.md, "Use cases"): add, import, fill in,
edit, remove and rename keys; accounts and sub-accounts; notes; checks and their results;
rotations. Each validates, writes through ``kutui.store.home.Home`` (or the rotation store), and
returns a ``Change`` (what changed, plus notices); refusals raise ``KutuiError``.

``kutui/commands/`` parse arguments and print; ``kutui/tui/`` calls the same functions from its
workers. Nothing here imports Textual or argparse, nor prints.
"""
