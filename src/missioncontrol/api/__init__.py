"""The HTTP API (FastAPI): webhook receivers, incidents, briefs. The only package that knows HTTP and JSON."""
