"""Reads for the contact duty (走访慰问): when each veteran was last contacted."""

from __future__ import annotations
