"""The only code that holds a key or touches a chain."""
