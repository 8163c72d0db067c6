"""One module per ``kutui`` subcommand (see ``kutui.cli.COMMAND_MODULES``).

Convention: ``register(subparsers) -> None`` adds the parser(s) with ``set_defaults(func=run_x)``;
``run_x(args) -> int`` returns the exit code and raises ``KutuiError`` for anything the user can
fix. Module tops import only the standard library and ``kutui.commands.common``: heavy imports go
inside the ``run_*`` functions, so ``kutui --help`` and headless commands stay fast and
textual-free.
"""
