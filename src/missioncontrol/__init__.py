"""Mission Control: an open-source AI SRE that turns an alert into a ranked, evidence-backed brief."""

__version__ = "0.1.0"
