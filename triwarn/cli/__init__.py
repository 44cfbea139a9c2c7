"""The ``triwarn`` command line: one module per subcommand in ``triwarn.cli.commands``, started from
``triwarn.cli.main``. It sits above every other room and may import any of them."""
