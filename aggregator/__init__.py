"""Pure aggregation: quotes in, one robust value per feed out. No I/O, no clock."""
