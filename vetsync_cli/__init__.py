"""Command-line chrome shared by ``station-node`` and ``county-hub``: Chinese
help, one-line Chinese errors with stable exit codes (1: refused, 2: usage),
``--json`` output and Rich tables. See :mod:`vetsync_cli.chrome`."""

from vetsync_cli.chrome import (
    ChineseCommand,
    ChineseGroup,
    ChineseHelpMixin,
    CliError,
    console,
    emit_json,
    json_option,
    local_time,
    make_home_option,
    print_record,
    print_rows,
    print_table,
    usage_message,
)

__all__ = [
    "CliError",
    "ChineseHelpMixin",
    "ChineseCommand",
    "ChineseGroup",
    "usage_message",
    "json_option",
    "emit_json",
    "console",
    "print_table",
    "print_rows",
    "print_record",
    "local_time",
    "make_home_option",
]
