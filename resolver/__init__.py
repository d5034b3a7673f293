"""resolver: master data and entity resolution for departmental records."""

__version__ = "0.1.0"
