"""gf.losses: standard losses collected in the LOSSES collection."""
