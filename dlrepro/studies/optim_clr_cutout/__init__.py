"""Seed 003 (optim_clr_cutout): architecture arithmetic (P3) and its analyses."""
