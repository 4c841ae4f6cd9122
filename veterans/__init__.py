"""The domain: what a veteran, a visit and a petition *are* — field labels
(labels), values and validators (values, fields), petition law (petition), the
hub's checks of pushed rows (admission, hub_checks), conflict views and
resolution (resolve), reports (report), Excel/CSV tables (tabular). Built on
``sync``; imports nothing of the hub, the station or the CLI."""

from veterans import labels as _labels  # noqa: F401  (registers the labels the engine's messages use)
