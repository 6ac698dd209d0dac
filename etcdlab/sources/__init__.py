"""Sources: every way of *getting* a ``ControlPlane``.

Safe YAML, manifest files and directories, ``kubectl`` output, a live cluster, the bundled
data sets, and kubeadm's manifest renderer. May import: ``etcdlab.model`` and ``etcdlab.errors``.
"""
