"""Invented documents drawn the way scanners and phones deliver them: the sample scans shipped for the demo
(``scripts/make_samples.py``), the inputs of the benchmarks and the tests' fixtures. No real person, dossier
or document; deterministic for a given seed. Needs the Liberation fonts (``fonts-liberation2``)."""
