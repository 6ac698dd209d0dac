"""The doctor: checks of a ``ControlPlane`` grouped by subject, their findings and report.

Also the flag explanations and the ``inspect`` summary. Named ``diagnosis`` and not ``doctor``
because ``etcdlab.doctor`` is a public function: a subpackage of that name would replace it.
May import: ``etcdlab.model``, ``etcdlab.sources``, ``etcdlab.errors``.
"""
