"""The hedging side: funding, basis, liquidation by each exchange's formula, and the hedge plan."""
