"""One document: segmentation of a file's pages, metadata extraction, validation, re-reading."""
