"""The embedded driver (``digitize run``): one process tree, no services."""
