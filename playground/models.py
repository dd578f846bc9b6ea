"""The project package holds no models: they live in their apps (``playground/*/models.py``)."""
