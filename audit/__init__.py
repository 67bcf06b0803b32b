"""The tamper-evident journal of every round."""
