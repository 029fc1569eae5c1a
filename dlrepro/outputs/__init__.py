"""Figures, tables and computed analyses drawn from run outputs (no training)."""
