"""etcdlab.model.flags: command lines and URLs, in every form kubeadm and people write them."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from etcdlab import kubeadm
from etcdlab.errors import EtcdlabError, FlagError, ManifestError
from etcdlab.model.flags import (CommandLine, Endpoint, Flag, parse_command, parse_initial_cluster, parse_url,
                           parse_url_list)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text, text
    return text


# -- the forms of a flag ----------------------------------------------------------------------


def test_equals_form_as_kubeadm_writes_it():
    cl = parse_command(kubeadm.etcd_command("master", "10.128.15.226"))
    assert cl.program == "etcd"
    assert cl.get("name") == "master"
    assert cl.get("data-dir") == "/var/lib/etcd"
    assert cl.get("listen-client-urls") == "https://127.0.0.1:2379,https://10.128.15.226:2379"
    assert cl.get("initial-cluster") == "master=https://10.128.15.226:2380"
    assert cl.positional == ()
    # every token after the program is one flag, at its own index
    assert [f.index for f in cl.flags] == list(range(1, len(cl.argv)))


def test_space_form_takes_the_next_token():
    cl = parse_command(["etcd", "--name", "master", "--data-dir", "/var/lib/etcd"])
    assert cl.get("name") == "master"
    assert cl.get("data-dir") == "/var/lib/etcd"
    assert cl.flag("data-dir") == Flag("data-dir", "/var/lib/etcd", 3, "--data-dir /var/lib/etcd")
    assert cl.positional == ()


def test_single_dash_is_a_flag_as_go_accepts_it():
    cl = parse_command(["etcd", "-name=master", "-data-dir", "/d"])
    assert cl.get("name") == "master"
    assert cl.get("data-dir") == "/d"


def test_value_keeps_every_equals_sign_after_the_first():
    cl = parse_command(["etcd", "--feature-gates=InitialCorruptCheck=true,Other=false"])
    assert cl.get("feature-gates") == "InitialCorruptCheck=true,Other=false"


def test_empty_value_is_kept_empty_not_true():
    cl = parse_command(["etcd", "--name="])
    assert cl.get("name") == ""
    assert cl.flag("name").value == ""


@pytest.mark.parametrize("argv, expected", [
    (["etcd", "--snapshot-count", "10000"], "10000"),
    (["etcd", "--snapshot-count=10000"], "10000"),
    (["etcd", "--quota-backend-bytes", "8589934592"], "8589934592"),
    (["etcd", "--oom-score-adj", "-999"], "-999"),
    (["etcd", "--ratio", "-0.5"], "-0.5"),
    (["etcd", "--ratio", "1e3"], "1e3"),
    (["etcd", "--offset=-1"], "-1"),
])
def test_numbers_are_values_even_negative_ones(argv, expected):
    cl = parse_command(argv)
    name = argv[1].lstrip("-").split("=")[0]
    assert cl.get(name) == expected
    assert cl.positional == ()


def test_a_dash_value_after_a_flag_is_the_next_flag_not_a_value():
    cl = parse_command(["etcd", "--client-cert-auth", "--name", "m"])
    assert cl.get("client-cert-auth") == "true"
    assert cl.flag("client-cert-auth").value is None
    assert cl.get("name") == "m"


def test_positional_arguments_and_lone_dash():
    cl = parse_command(["etcdctl", "get", "-", "--prefix"])
    assert cl.positional == ("get", "-")
    assert cl.get("prefix") == "true"


def test_double_dash_ends_the_flags():
    cl = parse_command(["etcd", "--name=a", "--", "--data-dir=/x", "plain"])
    assert cl.get("name") == "a"
    assert not cl.has("data-dir")
    assert cl.positional == ("--data-dir=/x", "plain")


def test_program_with_a_path_and_no_flags():
    cl = parse_command(["/usr/local/bin/etcd"])
    assert cl.program == "/usr/local/bin/etcd"
    assert len(cl) == 0 and list(cl) == [] and cl.as_dict() == {}


def test_a_tuple_is_a_sequence_too_and_argv_is_kept():
    argv = ("etcd", "--name", "m", "--x=1")
    cl = parse_command(argv)
    assert cl.argv == argv
    assert [str(f) for f in cl] == ["--name m", "--x=1"]


def test_command_plus_args_joined_like_a_container():
    command = ["etcd"]
    args = ["--name=m", "--listen-client-urls", "https://127.0.0.1:2379"]
    cl = parse_command(command + args)
    assert cl.get("listen-client-urls") == "https://127.0.0.1:2379"
    assert cl.flag("listen-client-urls").index == 2


# -- repeats and lists ------------------------------------------------------------------------


def test_repeated_flag_last_one_wins_and_every_value_is_kept():
    cl = parse_command(["kube-apiserver", "--etcd-servers=https://a:2379", "--v=2",
                        "--etcd-servers", "https://b:2379"])
    assert cl.get("etcd-servers") == "https://b:2379"
    assert cl.flag("etcd-servers").index == 3
    assert cl.get_all("etcd-servers") == ["https://a:2379", "https://b:2379"]
    assert cl.get_list("etcd-servers") == ["https://a:2379", "https://b:2379"]
    assert cl.names() == ["etcd-servers", "v"]
    assert cl.as_dict() == {"etcd-servers": "https://b:2379", "v": "2"}
    assert len(cl) == 3


def test_get_list_splits_commas_strips_and_drops_blanks():
    cl = parse_command(["x", "--l=a, b,,c,", "--l", " d "])
    assert cl.get_list("l") == ["a", "b", "c", "d"]
    assert cl.get_list("missing") == []
    assert cl.get_all("missing") == []


def test_get_with_default_and_has():
    cl = parse_command(["etcd", "--name=m"])
    assert cl.get("data-dir") is None
    assert cl.get("data-dir", "/default") == "/default"
    assert cl.has("name") and not cl.has("nam")
    assert cl.flag("nope") is None


# -- booleans ---------------------------------------------------------------------------------


def test_bare_boolean_is_true():
    cl = parse_command(["etcd", "--client-cert-auth"])
    assert cl.get("client-cert-auth") == "true"
    assert cl.get_bool("client-cert-auth") is True
    assert cl.get_all("client-cert-auth") == ["true"]


@pytest.mark.parametrize("spelling", ["1", "t", "T", "TRUE", "true", "True"])
def test_go_true_spellings(spelling):
    assert parse_command(["etcd", f"--auto-tls={spelling}"]).get_bool("auto-tls") is True


@pytest.mark.parametrize("spelling", ["0", "f", "F", "FALSE", "false", "False"])
def test_go_false_spellings(spelling):
    assert parse_command(["etcd", f"--auto-tls={spelling}"]).get_bool("auto-tls", default=True) is False


def test_absent_boolean_takes_the_default():
    cl = parse_command(["etcd"])
    assert cl.get_bool("auto-tls") is False
    assert cl.get_bool("auto-tls", default=True) is True


@pytest.mark.parametrize("value", ["yes", "on", "tRuE", "", "2", "true ", "yes\nno"])
def test_other_boolean_spellings_are_an_error_naming_the_flag(value):
    cl = parse_command(["etcd", f"--client-cert-auth={value}"])
    with pytest.raises(FlagError) as info:
        cl.get_bool("client-cert-auth")
    assert "--client-cert-auth" in one_line(info.value)
    assert "true or false" in str(info.value)


def test_last_boolean_wins():
    cl = parse_command(["etcd", "--auto-tls=true", "--auto-tls=false"])
    assert cl.get_bool("auto-tls") is False


# -- what is not a command line -----------------------------------------------------------------


@pytest.mark.parametrize("argv, words", [
    (None, "no command"),
    ("etcd --name=m", "list of strings, not str"),
    (b"etcd", "list of strings, not bytes"),
    ({"etcd": 1}, "list of strings, not dict"),
    (42, "list of strings, not int"),
    ([], "empty"),
    (["etcd", 10000], "item 1 of the command is int 10000"),
    (["etcd", "--a=1", None], "item 2 of the command is NoneType"),
    (["etcd", b"--name=m"], "item 1 of the command is bytes"),
    (["etcd", ["--nested"]], "item 1 of the command is list"),
    (["etcd", "--name=a\x00b"], "NUL"),
    (["etcd", "---name=m"], "'---name=m' (item 1) is not a flag"),
    (["etcd", "--=value"], "invalid flag name ''"),
    (["etcd", "--bad name=1"], "invalid flag name 'bad name'"),
    (["etcd", "--na$me"], "invalid flag name"),
    (["etcd", "--abc\n=1"], "invalid flag name"),
    (["etcd", "--abc\n"], "invalid flag name"),
    (["etcd", "--ünïcode=1"], "invalid flag name"),
])
def test_malformed_commands_raise_flag_error(argv, words):
    with pytest.raises(FlagError) as info:
        parse_command(argv)
    assert words in one_line(info.value)
    assert isinstance(info.value, ManifestError) and isinstance(info.value, EtcdlabError)


@pytest.mark.parametrize("make", [lambda: {"k": "v" * 100_000}, lambda: list(range(100_000)),
                                  lambda: 10 ** 4000, lambda: 10 ** 5000], ids=["dict", "list", "int", "int-too-long"])
def test_a_huge_bad_item_gives_a_short_message(make):
    with pytest.raises(FlagError) as info:
        parse_command(["etcd", make()])
    assert len(one_line(info.value)) < 300


def test_a_bad_item_sharing_references_does_not_blow_up_the_message():
    item: list = ["x"]
    for _ in range(64):  # 2**64 leaves if written out, as a YAML alias chain would make
        item = [item, item]
    with pytest.raises(FlagError, match="item 1 of the command is list"):
        parse_command(["etcd", item])


def test_the_error_remembers_which_item_was_bad():
    for argv, item in ((["etcd", "--a=1", 5], 2), (["etcd", "---x"], 1), (["etcd", "--a", "b", "--c d"], 3),
                       (["etcd", "--x=\x00"], 1)):
        with pytest.raises(FlagError) as info:
            parse_command(argv)
        assert info.value.item == item


def test_long_urls_are_cut_short_in_messages():
    with pytest.raises(FlagError) as info:
        parse_url("https://" + "h" * 10_000 + ":99999", flag="etcd-servers")
    assert len(one_line(info.value)) < 300 and "invalid port" in str(info.value)


def test_command_line_is_immutable():
    cl = parse_command(["etcd", "--name=m"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        cl.program = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cl.flags[0].value = "y"  # type: ignore[misc]
    assert parse_command(["etcd", "--name=m"]) == cl
    assert hash(parse_command(["etcd", "--name=m"])) == hash(cl)
    assert isinstance(cl, CommandLine)


# -- URLs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, scheme, host, port", [
    ("https://10.128.15.226:2379", "https", "10.128.15.226", 2379),
    ("http://127.0.0.1:2381", "http", "127.0.0.1", 2381),
    ("https://127.0.0.1", "https", "127.0.0.1", None),
    ("https://etcd-0.etcd.kube-system.svc:2379", "https", "etcd-0.etcd.kube-system.svc", 2379),
    ("https://localhost:2379", "https", "localhost", 2379),
    ("https://[::1]:2379", "https", "::1", 2379),
    ("https://[fd00:10:96::1]:2380", "https", "fd00:10:96::1", 2380),
    ("https://[2001:db8::7]", "https", "2001:db8::7", None),
    ("https://[fe80::1%eth0]:2379", "https", "fe80::1%eth0", 2379),
    ("https://[fe80::1%25eth0]:2379", "https", "fe80::1%25eth0", 2379),
    ("https://[::ffff:10.0.0.1]:2379", "https", "::ffff:10.0.0.1", 2379),
    ("HTTPS://Master:2379", "https", "Master", 2379),
    ("  https://10.0.0.1:2379  ", "https", "10.0.0.1", 2379),
    ("https://10.0.0.1:2379/", "https", "10.0.0.1", 2379),
    ("https://10.0.0.1:65535", "https", "10.0.0.1", 65535),
    ("https://10.0.0.1:1", "https", "10.0.0.1", 1),
    ("unix:///var/run/etcd.sock", "unix", "/var/run/etcd.sock", None),
    ("unixs://localhost:2379", "unixs", "localhost:2379", None),
])
def test_valid_urls(text, scheme, host, port):
    e = parse_url(text)
    assert (e.scheme, e.host, e.port) == (scheme, host, port)
    assert str(e) == text.strip() == e.raw


def test_endpoint_properties_ipv4():
    e = parse_url("https://10.0.0.1:2379")
    assert e.tls and e.ip == ipaddress.ip_address("10.0.0.1")
    assert not e.is_loopback and not e.is_wildcard
    assert e.hostport == "10.0.0.1:2379"


def test_endpoint_properties_ipv6_put_the_brackets_back():
    e = parse_url("https://[::1]:2379")
    assert e.is_loopback and e.ip == ipaddress.IPv6Address("::1")
    assert e.hostport == "[::1]:2379"
    assert parse_url("https://[2001:db8::7]").hostport == "[2001:db8::7]"


def test_endpoint_properties_host_names():
    e = parse_url("http://etcd-0:2379")
    assert e.ip is None and not e.tls and not e.is_loopback and not e.is_wildcard
    assert e.hostport == "etcd-0:2379"
    assert parse_url("https://LOCALHOST:2379").is_loopback


@pytest.mark.parametrize("text", ["https://127.0.0.1:2379", "https://127.9.9.9:2379", "https://[::1]:1",
                                  "https://localhost"])
def test_loopback(text):
    assert parse_url(text).is_loopback


@pytest.mark.parametrize("text", ["https://0.0.0.0:2379", "https://[::]:2379"])
def test_wildcard(text):
    e = parse_url(text)
    assert e.is_wildcard and not e.is_loopback


def test_unix_sockets_are_tls_only_as_unixs_and_keep_their_path():
    assert not parse_url("unix:///run/etcd.sock").tls
    e = parse_url("unixs://localhost:2379")
    assert e.tls and e.port is None
    # the socket name is not host:port; it must not be bracketed like an IPv6 address
    assert e.hostport == "localhost:2379"


@pytest.mark.parametrize("text, words", [
    ("", "is not a URL"),
    ("10.0.0.1:2379", "is not a URL"),
    ("localhost", "is not a URL"),
    ("https:/10.0.0.1:2379", "is not a URL"),
    ("https//10.0.0.1:2379", "is not a URL"),
    ("https://10.0.0.1:2379\nhttps://x:1", "is not a URL"),
    ("ftp://10.0.0.1:2379", "scheme 'ftp'"),
    ("grpc://10.0.0.1:2379", "scheme 'grpc'"),
    ("https://", "has no host"),
    ("https://:2379", "has no host"),
    ("https:///path", "has no host"),
    ("https://10.0.0.1:", "invalid port ''"),
    ("https://10.0.0.1:0", "invalid port '0'"),
    ("https://10.0.0.1:65536", "invalid port '65536'"),
    ("https://10.0.0.1:99999999999999999999999", "invalid port"),
    ("https://10.0.0.1:-1", "invalid port"),
    ("https://10.0.0.1:23 79", "invalid"),
    ("https://10.0.0.1:http", "invalid port 'http'"),
    ("https://10.0.0.1:²", "invalid port"),
    ("https://10.0.0.1:٢٣٧٩", "invalid port"),
    ("https://10.0.0.1:2379?x=1", "invalid port"),
    ("https://[::1:2379", "never closes"),
    ("https://[::1]2379", "text after the IPv6 address"),
    ("https://[::1]:", "invalid port ''"),
    ("https://[]:2379", "not an IPv6 address"),
    ("https://[10.0.0.1]:2379", "not an IPv6 address"),
    ("https://[etcd-0]:2379", "not an IPv6 address"),
    ("https://::1:2379", "bare IPv6"),
    ("https://fd00::1", "bare IPv6"),
    ("https://fd00::1:2379", "bare IPv6"),
    ("https://10.0.0.1:2379:2379", "invalid host:port"),
    ("https://root@10.0.0.1:2379", "user information"),
    ("https://user:pw@10.0.0.1:2379", "user information"),
    ("https://etcd 0:2379", "invalid host"),
    ("https://etcd_ü:2379", "invalid host"),
    ("unix://", "names no socket path"),
])
def test_invalid_urls_name_the_flag(text, words):
    with pytest.raises(FlagError) as info:
        parse_url(text, flag="etcd-servers")
    message = one_line(info.value)
    assert message.startswith("--etcd-servers: "), message
    assert words in message
    assert len(message) < 300


@pytest.mark.parametrize("value", [None, 2379, b"https://a:1", ["https://a:1"]])
def test_a_url_must_be_a_string(value):
    with pytest.raises(FlagError, match="must be a string"):
        parse_url(value, flag="x")  # type: ignore[arg-type]


def test_invalid_url_without_a_flag_name_still_says_what_is_wrong():
    with pytest.raises(FlagError, match="'nope' is not a URL; write it as https://HOST:PORT"):
        parse_url("nope")


def test_endpoint_is_immutable_and_comparable():
    a, b = parse_url("https://[::1]:2379"), parse_url("https://[::1]:2379")
    assert a == b and hash(a) == hash(b) and isinstance(a, Endpoint)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.port = 1  # type: ignore[misc]


def test_parse_url_list_splits_commas_and_repeats():
    eps = parse_url_list("https://127.0.0.1:2379, https://[fd00::1]:2379,,")
    assert [e.hostport for e in eps] == ["127.0.0.1:2379", "[fd00::1]:2379"]
    eps = parse_url_list(["https://a:1,https://b:2", "https://c:3"])
    assert [e.host for e in eps] == ["a", "b", "c"]
    assert parse_url_list("") == () and parse_url_list([]) == ()


def test_parse_url_list_error_names_the_flag_and_the_bad_part():
    with pytest.raises(FlagError) as info:
        parse_url_list("https://127.0.0.1:2379,https//10.0.0.2:2379", flag="etcd-servers")
    assert one_line(info.value).startswith("--etcd-servers: 'https//10.0.0.2:2379' is not a URL")


# -- --initial-cluster -------------------------------------------------------------------------


def test_initial_cluster_one_member_as_kubeadm_init_writes_it():
    ((name, ep),) = parse_initial_cluster("master=https://10.128.15.226:2380")
    assert name == "master" and ep.host == "10.128.15.226" and ep.port == 2380


def test_initial_cluster_three_members_in_order_with_ipv6_and_spaces():
    value = "cp1=https://10.0.0.1:2380, cp2=https://[fd00::2]:2380 ,cp3 = https://cp3.lab:2380,"
    members = parse_initial_cluster(value)
    assert [n for n, _ in members] == ["cp1", "cp2", "cp3"]
    assert [e.host for _, e in members] == ["10.0.0.1", "fd00::2", "cp3.lab"]


def test_initial_cluster_member_with_two_peer_urls_appears_twice():
    members = parse_initial_cluster("a=https://10.0.0.1:2380,a=https://10.0.1.1:2380")
    assert [n for n, _ in members] == ["a", "a"]


def test_initial_cluster_empty_value_is_no_members():
    assert parse_initial_cluster("") == ()
    assert parse_initial_cluster(" , ") == ()


@pytest.mark.parametrize("value, words", [
    ("master", "'master' is not NAME=URL"),
    ("=https://10.0.0.1:2380", "is not NAME=URL"),
    ("  =https://10.0.0.1:2380", "is not NAME=URL"),
    ("master=", "is not a URL"),
    ("master=10.0.0.1:2380", "is not a URL"),
    ("a=https://10.0.0.1:2380,b=https://[fd00::2:2380", "never closes"),
    # a semicolon instead of a comma: not mistaken for a bare IPv6 address
    ("a=https://10.0.0.1:2380;b=https://10.0.0.2:2380", "invalid host:port '10.0.0.1:2380;b=https:'; separate"),
])
def test_initial_cluster_errors_name_the_flag(value, words):
    with pytest.raises(FlagError) as info:
        parse_initial_cluster(value)
    message = one_line(info.value)
    assert message.startswith("--initial-cluster: ") and words in message


def test_initial_cluster_error_can_name_another_flag():
    with pytest.raises(FlagError, match="^--peer-list: "):
        parse_initial_cluster("x", flag="peer-list")


def test_every_kubeadm_generation_round_trips_through_the_parser():
    for generation in kubeadm.GENERATIONS:
        for advertise in ("10.0.0.1", "fd00::1"):
            argv = kubeadm.etcd_command("n1", advertise, generation=generation)
            cl = parse_command(argv)
            assert cl.as_dict() == {a[2:].split("=", 1)[0]: a.split("=", 1)[1] for a in argv[1:]}
            for flag in ("listen-client-urls", "advertise-client-urls", "listen-peer-urls",
                         "initial-advertise-peer-urls", "listen-metrics-urls"):
                assert parse_url_list(cl.get_all(flag), flag=flag)
            assert parse_initial_cluster(cl.get("initial-cluster"))[0][0] == "n1"
