"""The topology: a control plane as a networkx client/peer graph, and its drawing.

Named ``graphs`` and not ``topology`` because ``etcdlab.topology`` is a public function.
May import: ``etcdlab.model``, ``etcdlab.sources``, ``etcdlab.diagnosis`` (broken links are
the doctor's findings).
"""
