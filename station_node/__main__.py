"""``python -m station_node``: the same as the ``station-node`` command."""

from station_node.cli import main

if __name__ == "__main__":
    main(prog_name="station-node")
