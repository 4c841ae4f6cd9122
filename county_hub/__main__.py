"""``python -m county_hub``: the same as the ``county-hub`` command."""

from county_hub.cli import main

if __name__ == "__main__":
    main(prog_name="county-hub")
