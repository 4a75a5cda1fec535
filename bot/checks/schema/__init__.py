"""schema checks: one module per rule or tight family of rules."""
