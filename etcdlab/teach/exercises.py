"""The notebooks' exercises, one registry (see :mod:`etcdlab.teach.engine` for the engine).

Each notebook ends with exercises of four kinds (``kind``): ``value`` (a value the student
computes), ``edit`` (a copy of a broken cluster the student fixes; the doctor checks the
files), ``cluster`` (a real LocalCluster the student operates; the check asks the
cluster) and ``lab`` (the quorum lab's state the student sets up). The student writes::

    el.check("01.2", answer)        # value
    work = el.exercise_copy("02.4"); ...; el.check("02.4")      # edit
    c5 = el.exercise_cluster("05.5"); ...; el.check("05.5")     # cluster
    el.hint("03.2"); el.solution("03.2")

Expected values are stored as salted hashes and solutions sealed, so neither shows up in
tab-completion; ``tests/test_exercises.py`` holds the answers in the clear and proves each
exercise accepts them in their natural forms and refuses the common wrong ones. To change
an answer, compute its new hash with :func:`etcdlab.teach.engine.digest` (of the normalised
answer: ``digest(key, form.normalise(plain(answer)))``) and update the tests. The hints and solutions below are plain text for the instructor; a
determined student can read this file, but nothing in a notebook's tab-completion shows
them.

Ids that exist keep their ids: gradebooks depend on them.
"""

from __future__ import annotations

from .engine import (EXERCISES, FLAG, INT, MEMBER, MEMBERS, PATH, PROGRESS, Form, Verdict, WrongType,  # noqa: F401
                     _word, check, choice, hint, plain, reset, solution, value_exercise)
from .live_tasks import (LiveTask, exercise_cluster, judge_leader, judge_writes_again,  # noqa: F401
                         lab_exercise, live_exercise, setup_new_leader, setup_quorum_lost)
from .workspace import EditTask, edit_exercise, exercise_copy  # noqa: F401


def _port(value):
    """2379, "2379", or a URL with the port: "https://127.0.0.1:2379"."""
    if isinstance(value, str) and ":" in value:
        value = value.rstrip("/").rsplit(":", 1)[1]
    return INT.normalise(value)


def _ids(value):
    """Finding ids: one, or a list in any order, as strings."""
    import re

    items = re.split(r"[,\s]+", value.strip()) if isinstance(value, str) else list(value)
    if not all(isinstance(v, str) for v in items):
        raise WrongType("a list that is not all text")
    return tuple(sorted({_word(v) for v in items if v.strip()}))


def _name(value):
    return _word(value)


PORT = Form('a port number, e.g. answer = 443', _port)
IDS = Form('a list of finding ids in quotes, e.g. answer = ["some-id", "other-id"] (any order)', _ids)
NODE = Form('a node name in quotes, e.g. answer = "worker1"', _name)
FATE = choice('one of "committed", "discarded" or "timed out"',
              {"discarded": ("dropped", "overwritten", "discard", "thrown away"),
               "committed": ("commit",), "timed out": ("timeout", "timed-out", "time out")})
REASON = choice('the reason in quotes, as the attempt\'s .reason says it, e.g. answer = "wrong port"',
                {"not tls": ("tls: first record does not look like a tls handshake",
                             "first record does not look like a tls handshake", "plain http", "not https"),
                 "wrong port": (), "unknown authority": (), "bad certificate": ()})
READ = choice('"linearizable" or "serializable"',
              {"serializable": ("serialisable", "serializable read", "serializable reads"),
               "linearizable": ("linearisable", "linearizable read", "linearizable reads")})


# -- notebook 01: the etcd Pod ---------------------------------------------------------------
value_exercise(
    '01.1',
    'On which node does the etcd Pod run? Take it from the kubectl -o wide line.',
    NODE, '1c4009f6047c801bccb2f11662264407',
    hints=('The kubectl line has a NODE column; etcd_row is that line, parsed.', 'etcd_row has one attribute per column: try etcd_row. and the Tab key.', "The node is a column of its own, not part of the Pod's name."),
    why="kubeadm runs etcd as a static Pod on each control-plane node; its mirror Pod's name ends with the node's name.",
    solution="etcd_row.node, which is 'master' (the Pod is etcd-master: <component>-<node>).",
    wrong={'etcd-master': "etcd-master is the Pod's name, <component>-<node>: the node is the part after the dash.", 'etcd': 'etcd is the component; the question is the node it runs on.', '10.128.15.226': "that is the node's IP (etcd uses hostNetwork); give the node's name."})
value_exercise(
    '01.2',
    'On which port does etcd accept clients such as the apiserver?',
    PORT, '00d2fe5203de05d2a725783760875c7d',
    hints=("Clients connect to the URLs of one of etcd's --listen-...-urls flags.", 'etcd.listen_client_urls holds them; each URL has a .port.', 'Of the three ports in the table, only one is for clients that read and write keys.'),
    why='2379 is the client port, 2380 the peer port, 2381 the plain-HTTP health/metrics port.',
    solution='etcd.listen_client_urls[0].port, which is 2379.',
    wrong={2380: '2380 is the peer port: the members talk Raft to each other there. The apiserver dials the client port.', 2381: "2381 is the plain-HTTP health and metrics port for the kubelet's probes; it serves no keys."})
value_exercise(
    '01.3',
    'Which flag tells the other members where to reach this member for Raft traffic?',
    FLAG, 'f2edb6c9ca2e078ea0cf3c7b2b8ce998',
    hints=('It is one of the flags about peers (port 2380).', 'There are two *-peer-urls flags: one says where the member listens, the other what it tells the others.', 'el.flag_table(etcd.pod) lists both with their meanings.'),
    why='--listen-peer-urls is where it listens; --initial-advertise-peer-urls is what it tells the others.',
    solution='--initial-advertise-peer-urls (= https://10.128.15.226:2380).',
    wrong={'listen-peer-urls': '--listen-peer-urls is where it listens (it could be 0.0.0.0); the others need the address it *advertises*.', 'advertise-client-urls': '--advertise-client-urls is for clients; the question is the other members.', 'initial-cluster': '--initial-cluster lists every member at start-up; the question is the flag in which this member announces its own peer URL.'})
value_exercise(
    '01.4',
    "Where on the node's disk does etcd's data live? (the host path, not the container path)",
    PATH, '362e2b0f81c0c09b41e8b4dae10ca461',
    hints=("Follow --data-dir into the Pod's volumeMounts.", "The mount at that path belongs to a volume; the volume's hostPath is a directory on the node.", 'etcd.pod.host_path(path in the container) does the lookup for you.'),
    why='the etcd-data hostPath volume keeps the data on the node, so a restarted container finds it again.',
    solution="etcd.pod.host_path(etcd.data_dir), which is '/var/lib/etcd' (the same path as in the container).",
    wrong={'/etc/kubernetes/pki/etcd': "that is the certificates' hostPath (etcd-certs); the data is the other volume.", '/var/lib/etcd/member': 'that is inside the data directory (etcd makes it); the question is the directory the volume brings in.', '/etc/kubernetes/manifests/etcd.yaml': 'that is where the manifest lives; the question is the data.'})
edit_exercise(
    '01.5',
    'Symptom: "The cluster keeps coming back empty: no Deployments, no Secrets, nothing." Fix etcd\'s manifest in your copy so that its data survives a restart of the container.',
    EditTask("broken/data-dir-not-mounted", ("master", "etcd")),
    hints=('Run the doctor on your copy: el.doctor_report(work.doctor()).', 'Compare --data-dir with the mountPath of the etcd-data volume, in the same file.', 'Either point --data-dir at the mounted path, or mount the volume at the --data-dir path.'),
    why="--data-dir must be on the hostPath volume, or each new container starts a new, empty cluster: the Deployments and Secrets were in the dead container's own file system.",
    solution='work.replace("--data-dir=/var/lib/etcd-data", "--data-dir=/var/lib/etcd"): etcd wrote to /var/lib/etcd-data, a path no volume backs. (Mounting etcd-data at /var/lib/etcd-data works too.)')
edit_exercise(
    '01.6',
    'Symptom: "kubectl works, but etcdctl --cluster commands on master cannot connect." Fix etcd\'s manifest in your copy.',
    EditTask("broken/advertise-not-served", ("master", "etcd")),
    hints=('Run the doctor on your copy: el.doctor_report(work.doctor()).', 'etcdctl --cluster dials the client URLs the members *advertise*: does this member serve the one it advertises?', "Compare --advertise-client-urls with --listen-client-urls; the node's IP is in the kubectl line."),
    why="each member publishes --advertise-client-urls in the member list; etcdctl --cluster, backup jobs and the other members' clients dial exactly those, so --listen-client-urls must serve them.",
    solution='work.replace("--advertise-client-urls=https://10.128.15.227:2379", "--advertise-client-urls=https://10.128.15.226:2379"): 10.128.15.227 is worker1, not master.')


# -- notebook 02: the apiserver as an etcd client --------------------------------------------
value_exercise(
    '02.1',
    'Which apiserver flag names the certificate the apiserver presents to etcd?',
    FLAG, '2d76619bdcead7e59a678d9f1d18c063',
    hints=('etcd runs with --client-cert-auth=true, so the apiserver needs a *client* certificate.', "The apiserver's etcd flags all start with --etcd-.", 'Of the --etcd-* flags, one names a key, one a CA, one a certificate.'),
    why="apiserver-etcd-client.crt is signed by the etcd CA, which etcd's --trusted-ca-file names.",
    solution='--etcd-certfile (= /etc/kubernetes/pki/apiserver-etcd-client.crt).',
    wrong={'etcd-keyfile': '--etcd-keyfile is the private key that goes with the certificate; the certificate is another flag.', 'etcd-cafile': "--etcd-cafile is what the apiserver *trusts* (etcd's CA), not what it presents.", 'cert-file': "--cert-file is etcd's own server certificate: a flag of etcd, not of the apiserver.", 'tls-cert-file': '--tls-cert-file is the certificate the apiserver shows *its* clients (kubectl), not etcd.', 'client-ca-file': '--client-ca-file is for Kubernetes clients of the apiserver, nothing to do with etcd.'})
value_exercise(
    '02.2',
    'Which broken data set has the symptom "The apiserver on master cannot connect to etcd: the TLS handshake fails."? Run the doctor on it: what are the ids of its error findings?',
    IDS, 'cf553f075eeca5e7de0d82ef6e4b3a77',
    hints=('Print the broken data sets with their symptoms: for d in el.datasets(broken=True): print(d.name, d.summary)', "Run el.doctor(...) on the one whose summary is the symptom; keep the findings whose severity is 'error'.", "A list comprehension over the findings, taking each one's .id."),
    why='with --client-cert-auth=true etcd ends the handshake of any client without a certificate; the CIS benchmark (1.2.29) checks the same flag pair.',
    solution="[f.id for f in el.doctor('broken/no-client-cert') if f.severity == 'error'], which is ['cis-apiserver-etcd-certfile', 'etcd-client-cert-missing'].",
    wrong={('etcd-servers-peer-port',): "etcd-servers-peer-port is broken/wrong-port's finding (the example above); find the data set whose summary is the symptom.", ('etcd-client-cert-missing',): 'that is one of them; the data set has two error findings.', ('cis-apiserver-etcd-certfile',): 'that is one of them; the data set has two error findings.', ('etcd-ca-mismatch',): "that is broken/ca-mismatch (x509 unknown authority); the symptom here is a failed handshake, seen from etcd's side.", ('etcd-servers-scheme',): 'that is broken/wrong-scheme; read the summaries again.'})
value_exercise(
    '02.3',
    "In stacked-ha-3, how many etcd members does each apiserver's --etcd-servers reach?",
    INT, '6d21c1628c05af6a62c95109fe8c3b5d',
    hints=("Look at an apiserver's --etcd-servers in stacked-ha-3: el.load('stacked-ha-3').apiservers[0].etcd_servers", "Which machine does that URL's host name?", 'Count the members that run on the machine the URL points at.'),
    why="in the stacked topology each apiserver talks only to the member on its own node (127.0.0.1 is each machine's own loopback).",
    solution='1: every apiserver says https://127.0.0.1:2379, and loopback reaches only the member on its own node.',
    wrong={3: "3 is how many members the cluster has; but what does 127.0.0.1 reach when cp2's apiserver dials it?", 0: 'it reaches one: the member on its own node listens on 127.0.0.1 too.'})
edit_exercise(
    '02.4',
    'Symptom: "The apiserver cannot reach etcd, and etcd\'s log fills with TLS handshake errors." Make the apiserver on master reach etcd again, in your copy.',
    EditTask("broken/wrong-scheme", ("master", "kube-apiserver")),
    hints=("Run the doctor on your copy: el.doctor_report(work.doctor(), severity='error').", "etcd's log complains about TLS handshakes: what does the apiserver send to a port that wants TLS?", "Compare --etcd-servers, letter by letter, with etcd's --listen-client-urls."),
    why="etcd's client port speaks TLS only (kubeadm sets --cert-file and --client-cert-auth): an http:// URL sends plain HTTP, which etcd takes for a broken handshake. The kubelet restarts the apiserver when the file changes.",
    solution='work.replace("--etcd-servers=http://127.0.0.1:2379", "--etcd-servers=https://127.0.0.1:2379")')
edit_exercise(
    '02.5',
    'Symptom: "The apiserver logs x509 \'certificate signed by unknown authority\' talking to etcd." Fix the apiserver\'s manifest in your copy.',
    EditTask("broken/ca-mismatch", ("master", "kube-apiserver")),
    hints=("Run the doctor on your copy: el.doctor_report(work.doctor(), severity='error').", "'unknown authority': the apiserver does not trust the certificate etcd shows. Which flag says whom it trusts?", 'kubeadm keeps two CAs: /etc/kubernetes/pki/ca.crt and /etc/kubernetes/pki/etcd/ca.crt.'),
    why="--etcd-cafile must be the etcd CA, which signed etcd's server certificate; the cluster CA signs Kubernetes' own certificates (CIS 2.7 wants them apart).",
    solution='work.replace("--etcd-cafile=/etc/kubernetes/pki/ca.crt", "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt")')


# -- notebook 03: who talks to whom ----------------------------------------------------------
value_exercise(
    '03.1',
    'How many peer links does the full mesh of a 5-member etcd cluster have?',
    INT, 'b8eef7281f269f9be7f3d2a222961071',
    hints=('Every member talks to every other member: one link per pair.', 'How many pairs does a set of 5 have?', 'el.topology(el.stacked_control_plane(5)) builds such a cluster; el.edge_counts counts its links.'),
    why='n members make n(n-1)/2 pairs: 3 links for 3 members, 10 for 5, 36 for 9. Every write is replicated over them, one reason clusters stay small.',
    solution="el.edge_counts(el.topology(el.stacked_control_plane(5)))['peer'], which is 10 = 5 * 4 / 2.",
    wrong={20: '20 counts each link twice (cp1→cp2 and cp2→cp1); a peer link is one per pair.', 5: '5 is the number of members, not of pairs.', 25: '25 would pair each member with itself too.'})
value_exercise(
    '03.2',
    'In external-etcd-5, how many etcd members does each apiserver have a client link to?',
    INT, '4341b86d775d9785d9a9b9b762092b6d',
    hints=("Build the graph of external-etcd-5 (not stacked-ha-3): gx = el.topology(el.load('external-etcd-5'))", 'Each client link is an edge leaving an apiserver; count those of one apiserver.', "gx.out_degree(name of one apiserver's node in the graph)"),
    why='with external etcd every apiserver lists every member in --etcd-servers, so it survives whichever members fail, as long as a majority is up.',
    solution="el.topology(el.load('external-etcd-5')).out_degree('kube-apiserver-cp1'), which is 5.",
    wrong={1: '1 is right for stacked-ha-3 (loopback); build the graph of external-etcd-5, whose apiservers dial across the network.', 15: '15 is the client links of all three apiservers together; the question is per apiserver.', 3: '3 is the number of apiservers (or of control-plane nodes).'})
value_exercise(
    '03.3',
    'Draw broken/initial-cluster-typo. Between which two members is the peer link broken? (a list of two names)',
    MEMBERS, 'ca21f7d1ffc120c3821461d0b70a5351',
    hints=('Build the graph of broken/initial-cluster-typo and list its broken links.', "gt = el.topology(el.load('broken/initial-cluster-typo')); el.broken_links(gt)", 'The broken link joins two etcd-* nodes of the graph: name both members.'),
    why="cp3's --initial-cluster gives cp2 an address cp2 does not advertise. cp3 joined an existing cluster (--initial-cluster-state=existing), so at start-up it checks its list against the members the cluster knows, finds the mismatch and refuses to start.",
    solution="el.broken_links(el.topology(el.load('broken/initial-cluster-typo'))) names etcd-cp2 and etcd-cp3.",
    wrong={('cp1', 'cp3'): "cp3's list gets cp1 right; which other address in it is wrong?", ('cp1', 'cp2'): "cp1 and cp2 agree with each other; the hand-written manifest is cp3's."})
value_exercise(
    '03.4',
    "In external-etcd-5, how many members must be down before the drawing's title says 'quorum lost'?",
    INT, '431abfa3d95ec2d7128e907b5024160d',
    hints=('Try el.draw_topology(ext, down=[...]) with one member more each time.', "el.quorum_text(el.topology(ext), down=['infra0']) gives the title's words without drawing; the members are infra0 to infra4.", 'Quorum is lost when the members still up are no longer a majority of 5.'),
    why='5 members need 3 for a majority: 2 may fail, the third failure stops all writes.',
    solution="el.quorum_text(el.topology(ext), down=['infra0', 'infra1', 'infra2']) is the first to say 'quorum lost': 3.",
    wrong={2: 'with 2 of 5 down, 3 are still up, and 3 of 5 is a majority.', 4: 'with 4 down it is lost, but it was lost one member earlier already.', 5: 'it is lost long before all are down.'})
edit_exercise(
    '03.5',
    'Symptom: "stacked-ha-3 where cp3\'s etcd refuses to start after its manifest was rewritten by hand." Fix the manifest in your copy; the check redraws the topology too.',
    EditTask("broken/initial-cluster-typo", ("cp3", "etcd")),
    hints=('gw = el.topology(work.load()); el.broken_links(gw), and el.doctor_report(work.doctor()).', "Compare cp3's --initial-cluster with the peer URL each member advertises (--initial-advertise-peer-urls).", "One address in cp3's --initial-cluster is not the one that member advertises."),
    why="--initial-cluster must list each member at the peer URL it advertises; a member joining an existing cluster checks its list against the cluster's and refuses to start on a mismatch.",
    solution='work.replace("cp2=https://10.0.0.21:2380", "cp2=https://10.0.0.12:2380")')
edit_exercise(
    '03.6',
    'Symptom: "external-etcd-5 where cp2\'s apiserver logs dial timeouts to one etcd endpoint." Fix it in your copy, so that every client link in the graph works.',
    EditTask("broken/external-unknown-endpoint", ("cp2", "kube-apiserver"), also_gone=("etcd-servers-partial",)),
    hints=('gw = el.topology(work.load()); el.broken_links(gw)', "Which host does cp2's apiserver dial that no member serves? Compare with the members' --listen-client-urls.", 'el.load(work.nodes_dir).members lists each member with its client URLs.'),
    why='an endpoint that no member serves costs a dial timeout on every reconnect, and the apiserver has one member fewer to fail over to.',
    solution='work.replace("https://10.0.1.16:2379", "https://10.0.1.15:2379"): infra4 listens on 10.0.1.15.')


# -- notebook 04: quorum ---------------------------------------------------------------------
value_exercise(
    '04.1',
    'A cluster must keep working with 2 members failed. What is the smallest size that does?',
    INT, 'b58976133ca093f0a43a49ba51b14e0f',
    hints=('A cluster survives as many failures as leave a majority standing.', 'el.ClusterState(n).tolerance says it for n members: try a few n.', 'Find the smallest n whose tolerance is 2.'),
    why='5 members need 3 for a majority, so 2 may fail; that is why production clusters run 5.',
    solution='[n for n in range(1, 10) if el.ClusterState(n).tolerance >= 2][0], which is 5.',
    wrong={4: '4 members need 3 for a majority: they survive only 1 failure.', 3: '3 members survive 1 failure, not 2.', 6: '6 survive 2, but a smaller cluster does too.'})
value_exercise(
    '04.2',
    'How many failed members does a 6-member cluster survive?',
    INT, '700199f14033b4ae197096122902b017',
    hints=('Quorum is ⌊n/2⌋ + 1 members.', 'el.ClusterState(6).quorum, then what is left of 6?', 'el.ClusterState(6).tolerance'),
    why='6 members need 4, so they survive 2 failures, exactly as many as 5: the sixth buys nothing.',
    solution='el.ClusterState(6).tolerance, which is 2 (6 - 4).',
    wrong={3: '3 would be half of 6, but half is not a majority: a majority of 6 is 4.', 4: '4 is the quorum of 6 (what must stay up), not how many may fail.'})
value_exercise(
    '04.3',
    '5 members, cp2, cp4 and cp5 down: which members still answer a serializable read? (a list of names)',
    MEMBERS, '4baf6b4bbfe3c708520d347df8666b3a',
    hints=('A serializable read needs no consensus: the member answers from its own copy.', 'So which members can answer at all, with or without quorum?', 'el.ClusterState(5).with_down(...) has a property for exactly this question.'),
    why="a serializable read is answered from the member's own copy, without consensus: it works without quorum, and it may be stale.",
    solution="el.ClusterState(5).with_down('cp2', 'cp4', 'cp5').serializable_readers, which is ('cp1', 'cp3').",
    wrong={('cp1', 'cp2', 'cp3', 'cp4', 'cp5'): 'cp2, cp4 and cp5 are down: a member that is down answers nothing.', ('cp2', 'cp4', 'cp5'): 'cp2, cp4 and cp5 are the members that are down.', ('cp1',): 'cp1 answers, but it is not the only member left running.'})
value_exercise(
    '04.4',
    '7 members split into cp1,cp2,cp3 | cp4,cp5,cp6,cp7: on which side can a leader be elected? (a list of names)',
    MEMBERS, '5ffcd4df9ee901e5a4116249549479bf',
    hints=('A leader needs the votes of a majority of all 7 voting members.', 'How many members are on each side, and how many make a majority of 7?', "el.ClusterState(7).with_partition('cp1,cp2,cp3/cp4,cp5,cp6,cp7') has a property naming the leader's side."),
    why='at most one side of a partition can hold a majority, so there is never a second leader: no split brain.',
    solution="el.ClusterState(7).with_partition('cp1,cp2,cp3/cp4,cp5,cp6,cp7').leader_side, which is ('cp4', 'cp5', 'cp6', 'cp7').",
    wrong={('cp1', 'cp2', 'cp3'): 'cp1, cp2 and cp3 are 3 of 7 votes: not a majority, whoever led before.', ('cp1', 'cp2', 'cp3', 'cp4', 'cp5', 'cp6', 'cp7'): 'only one side can elect a leader: which side holds a majority?'})
value_exercise(
    '04.5',
    'In the partition replay, what became of the writes the stranded leader accepted? (committed, discarded or timed out)',
    FATE, 'c7238a11f1c97af4f73c7f35ae3bd7d2',
    hints=("The stranded leader's writes are the ones whose value starts with 'lost'.", "p = el.simulate_election('partition', seed=1); look at p.writes", 'Each write has a .status.'),
    why="they never reached a majority, so they were never committed; the new leader's log overwrote them.",
    solution="[w.status for w in el.simulate_election('partition', seed=1).writes if w.value.startswith('lost')], which is ['discarded', 'discarded'].",
    wrong={'timed out': 'timed out is what happened to writes sent to the majority side while the old leader still seemed alive; the stranded leader accepted its writes, and then?', 'committed': 'they reached only 2 of 5 members: never a majority, so never committed.'})
lab_exercise(
    '04.6',
    "Back in the lab: find the smallest cluster in which you can switch off two members *and* cut a running member off with a partition, and still write. Set the lab up that way, then el.check('04.6', lab).",
    hints=("Every member that is down or cut off is a vote the leader's side cannot count.", '2 down plus 1 cut off makes 3 votes missing; the rest must still be a majority of all the members.', 'With n members, n - 3 must be more than n / 2.'),
    why='every failed or cut-off member counts against the same majority: 7 members, 2 down and 1 cut off, leave 4 of 7. With 6, 3 are left, and 3 of 6 is not a majority. (Putting down members on side B cuts off nobody.)',
    solution="lab.set_size(7); lab.switch('cp6', up=False); lab.switch('cp7', up=False); lab.partition(['cp1']); el.check('04.6', lab)")
edit_exercise(
    '04.7',
    'Symptom: "A stacked cluster grown to four control-plane nodes \'for more safety\'." Make the cluster in your copy as safe for fewer machines, or safer for one more.',
    EditTask("broken/even-members", ("cp4", "etcd"), may_remove_nodes=True),
    hints=('Run the doctor on your copy: el.doctor_report(work.doctor()).', 'How many failures do 3 members survive? And 4?', 'Either take a node out (work.remove_node(...), as kubeadm reset would) or add one.'),
    why='4 members need 3 and survive 1 failure, like 3 members; an odd size is never worse. On a real cluster, `etcdctl member remove` first, then `kubeadm reset` on that node.',
    solution="work.remove_node('cp4'): 3 members survive 1 failure, as 4 did, with one machine fewer that can fail.")


# -- notebook 05: real etcd on loopback ------------------------------------------------------
value_exercise(
    '05.1',
    "Connect as the apiserver with --etcd-servers=https://127.0.0.1:2381. What is the reason it fails (the attempt's .reason)?",
    REASON, '31f564a9b759313306c41c4bca778587',
    hints=('Start a one-member cluster and connect as the apiserver with that one flag changed.', 'with el.LocalCluster(1) as c1: attempt = c1.connect_as_apiserver(etcd_servers=...)', 'print(attempt.reason) inside the with block.'),
    why="2381 is the plain-HTTP metrics/health port (kubelet's probes use it); the API is on 2379, over TLS.",
    solution="with el.LocalCluster(1) as c1: print(c1.connect_as_apiserver(etcd_servers='https://127.0.0.1:2381').reason), which prints 'not TLS'.",
    wrong={'wrong port': "'wrong port' is what the peer port 2380 gives; 2381 answers, in another protocol.", 'unknown authority': "'unknown authority' is a CA problem (--etcd-cafile); here the flags are kubeadm's, only the port changed."})
value_exercise(
    '05.2',
    "An apiserver logs 'x509: certificate signed by unknown authority' when it dials etcd. Which of its flags is wrong?",
    FLAG, 'c4ea0b0320eaa367950a4873afb93be4',
    hints=("'Unknown authority': the apiserver cannot verify the certificate etcd shows.", 'Which flag says whom the *apiserver* trusts?', "The apiserver's four etcd flags are in c.apiserver_flags()."),
    why='--etcd-cafile must be the etcd CA (etcd/ca.crt), not the cluster CA (ca.crt).',
    solution='--etcd-cafile: it must be /etc/kubernetes/pki/etcd/ca.crt.',
    wrong={'trusted-ca-file': "--trusted-ca-file is etcd's flag (whom etcd trusts); the question is the apiserver's.", 'etcd-certfile': "--etcd-certfile is what the apiserver presents; 'unknown authority' is about what etcd presents.", 'etcd-keyfile': "--etcd-keyfile is the apiserver's private key; nothing is wrong with it here."})
value_exercise(
    '05.3',
    'Start el.LocalCluster(5) and SIGKILL members one by one, writing after each kill. How many members are down when the first write is refused?',
    INT, 'b4702e3d6b2e9f4a001dca20e7c06b0d',
    hints=('with el.LocalCluster(5) as c5: db = c5.client(); then c5.kill(...) and db.put(...) in a loop.', 'A refused write raises el.QuorumLost: catch it and count.', 'A write needs a majority of the 5 *configured* members, however many are left.'),
    why='5 members tolerate 2 failures; the third kill leaves 2 of 5, below the quorum of 3.',
    solution="with el.LocalCluster(5) as c5: db = c5.client(); for n in range(1, 6): c5.kill(c5.running[0]); try: db.put('/k', 'v') except el.QuorumLost: print(n); break  — prints 3.",
    wrong={2: 'after 2 kills 3 of 5 still run: a majority, so the write is committed.', 4: 'the write was already refused one kill earlier.', 5: 'writes stop long before every member is gone.'})
value_exercise(
    '05.4',
    "During the quorum loss, which kind of read still answered: 'linearizable' or 'serializable'?",
    READ, 'c493b3241657c5dd12dfcb10235a5ab2',
    hints=('One kind of read is answered by the member alone, without the leader.', "The drill's report has report.figures(): look for *_read_during_loss.", "Notebook 04's ClusterState(3).with_down('cp2', 'cp3') says the same on paper."),
    why="a serializable read is served from the member's own copy without asking the others: available, but possibly stale. kubectl's reads are linearizable by default, so they fail too.",
    solution="report.figures()['serializable_read_during_loss'] is True: 'serializable'.",
    wrong={'linearizable': 'a linearizable read needs the leader to confirm with a majority: it failed too.'})
live_exercise(
    '05.5',
    "The exercise's cluster has lost two of its three members and refuses writes. Get writes working again; the check makes a real write.",
    LiveTask(setup_quorum_lost, judge_writes_again),
    form="the cluster itself: change it, then el.check('05.5')",
    hints=('c5.status() shows which members are down.', 'A write needs a majority of the 3 configured members.', 'A killed member can be started again from its data directory: look at c5.start_member.'),
    why='a write needs a majority of the configured members; members that come back rejoin with their data.',
    solution="for m in c5.members: c5.start_member(m)   (one of the two is enough), then el.check('05.5').")
live_exercise(
    '05.6',
    "The leader of the exercise's cluster was just killed. Which member is the leader now? Ask the cluster.",
    LiveTask(setup_new_leader, judge_leader),
    form=MEMBER.describe,
    hints=('c6.status() shows what each member says about itself.', 'The leader column marks one member; c6 also has a method named after the question.', "etcdctl shows it too: print(c6.etcdctl('endpoint', 'status', '-w', 'table')) (IS LEADER)."),
    why='a new leader was elected about one election timeout after the old one died; which member wins depends on whose random election timeout ran out first, so only the cluster can tell.',
    solution='c6.leader().name, or read the ★ in c6.status().')
