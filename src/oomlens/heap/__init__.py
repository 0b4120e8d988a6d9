"""heap layer."""
