"""The op library: one registered OpDef class per TF op type, with builder functions."""
