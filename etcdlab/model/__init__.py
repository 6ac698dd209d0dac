"""The model: what a kubeadm control plane *is*, with no I/O.

Flags and URLs (``flags``: one set of address helpers), and ``ControlPlane`` → ``Node`` →
``Pod``, ``EtcdMember``, ``ApiServer`` (``control_plane``). May import: ``etcdlab.errors`` only.
"""
