"""write_graph, export_meta_graph and import_meta_graph under gf.train."""

__all__: list = []
