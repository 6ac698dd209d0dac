"""The lab's cluster: a real :class:`~etcdlab.real.cluster.Cluster`, plus what the lab does
with it: connect to it the way a kube-apiserver does (:mod:`etcdlab.real.apiserver_view`),
run the failure drill on it (:mod:`etcdlab.real.drill`), and hand its state to the
quorum model of notebook 04 (:mod:`etcdlab.sim.quorum`).

These live apart from the cluster itself so that the drills and the apiserver's view
can use a cluster without the cluster importing them back: dependencies go one way,
``lab`` → ``drill``, ``apiserver_view`` → ``cluster``.

>>> import etcdlab as el
>>> with el.LocalCluster(size=3) as c:          # doctest: +SKIP
...     c.connect_as_apiserver().ok
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .cluster import Cluster

if TYPE_CHECKING:  # pragma: no cover
    from .members import Member


class LocalCluster(Cluster):
    """A real etcd cluster on loopback (see :class:`~etcdlab.real.cluster.Cluster`), with
    the lab's ways of breaking it and of looking at it."""

    def quorum_state(self):
        """The running cluster as notebook 04's quorum model sees it: an
        :class:`etcdlab.sim.quorum.ClusterState` of the same size and member names, with the
        members whose process is not running marked down."""
        from ..sim.quorum import ClusterState

        return ClusterState(self.size, down=frozenset(m.name for m in self.members if not m.running))

    # -- the apiserver's view ------------------------------------------------------------------
    def apiserver_flags(self) -> dict[str, str]:
        """The four ``--etcd-*`` flags of a stacked kubeadm apiserver, exactly as kubeadm writes them."""
        from .apiserver_view import kubeadm_etcd_flags

        return kubeadm_etcd_flags()

    def classic_mistakes(self, member: "Member | str | int" = 0):
        """Connect as the apiserver with kubeadm's flags, then with each classic mistake."""
        from .apiserver_view import classic_mistakes

        self._check_started()
        return classic_mistakes(self, member)

    def connect_as_apiserver(self, flags: dict[str, str | None] | None = None, *,
                             member: "Member | str | int" = 0, **changes: str | None):
        """Connect like a kube-apiserver with these ``--etcd-*`` flags; see :mod:`etcdlab.real.apiserver_view`."""
        from .apiserver_view import connect

        self._check_started()
        return connect(self, flags, member=member, **changes)

    # -- drills -------------------------------------------------------------------------------
    def drill(self, *, say: Callable[[str], None] | None = None, live: bool = False):
        """Run the failure drill on this cluster (see :func:`etcdlab.real.drill.run_drill`)."""
        from .drill import run_drill

        return run_drill(cluster=self, say=say, live=live)


__all__ = ["LocalCluster"]
