"""One page: ingest, geometry and preprocessing, codes, OCR and the searchable page PDF."""
