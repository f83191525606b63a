"""Vietnamese text: folding and tone marks, word correction, the gazetteer, document types, dossier codes."""
