"""Reads for the county's dashboard that the CLI does not make."""

from __future__ import annotations
