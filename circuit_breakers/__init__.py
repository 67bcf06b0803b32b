"""Pure circuit breakers: may this aggregate be published? No I/O, no clock."""
