"""digitize: scanned administrative results -> trusted, indexed digital records.

Importing the package is cheap: heavy libraries (OpenCV, pikepdf, tesseract wrappers) are imported
by the modules that use them, never here.
"""

__version__ = "0.1.0"
