"""Hand-off: export, manual fixes, signed copies, dossier packages, publishing to the portal."""
