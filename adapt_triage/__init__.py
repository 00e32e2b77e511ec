"""adapt-triage: literature triage for research on model adaptation."""

__version__ = "0.1.0"
