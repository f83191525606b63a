"""The portal HTTP API (FastAPI). Import ``digitize.api.app.create_app``; nothing is loaded here."""
