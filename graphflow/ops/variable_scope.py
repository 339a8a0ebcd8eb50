"""variable_scope and get_variable: named variable sharing with reuse and default initializers."""

__all__: list = []
