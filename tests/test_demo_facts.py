"""Reading what a DinD or DooD container's CLI and kernel say: untrusted text into typed facts."""

from __future__ import annotations

from topology.engine import demo_facts
from topology.engine.demo_facts import CachedImage, Engine, Listed

HEX = "a" * 64
IMAGE = "sha256:" + "b" * 64


def test_sections_split_the_script_output() -> None:
    output = "@@info\n[1]\n\n@@ps\nx\ny\n@@empty\n"
    assert demo_facts.sections(output) == {"info": ["[1]"], "ps": ["x", "y"], "empty": []}


def test_engine_listing_and_images_are_parsed_from_json_records() -> None:
    assert demo_facts.parse_engine(['["ID:X","27.3.1","dind"]']) == Engine("ID:X", "27.3.1", "dind")
    listed = demo_facts.parse_listed([f'["{HEX}","c4,alias"]', f'["{"c" * 64}","c3"]'])
    assert listed == (Listed("c" * 64, "c3"), Listed(HEX, "c4"))
    cache = demo_facts.parse_images([f'["{IMAGE}",1985714,["topology/workload:offline"]]'])
    assert cache == (CachedImage(IMAGE, ("topology/workload:offline",), 1985714),)


def test_nonsense_from_a_daemon_becomes_nothing_never_an_error() -> None:
    junk = [
        "not json",
        "{}",
        "[]",
        '["<script>", "x"]',
        f'["{HEX[:-1]}", "short id"]',
        '["sha256:zz", 1, []]',
        f'["{IMAGE}", -5, "not a list"]',
        f'["{IMAGE}", true, [1, 2]]',
        "[" * 10000,
    ]
    assert demo_facts.parse_engine([*junk[:5], '["ID with spaces", 1, 2]']) is None
    assert demo_facts.parse_listed(junk) == ()
    [image] = demo_facts.parse_images(junk)
    assert image == CachedImage(IMAGE, (), 0)
    assert demo_facts.parse_status(["CapEff: zz", "Seccomp: 7"]) == (None, "unknown", None)


def test_long_text_is_clipped() -> None:
    engine = demo_facts.parse_engine([f'["ID:X","{"1" * 500}","{"n" * 5000}"]'])
    assert engine is not None and len(engine.version) == 64 and len(engine.name) == 200
    assert demo_facts.parse_engine([f'["{"x" * 5000}","1",""]']) is None


def test_status_lines_say_capabilities_and_seccomp() -> None:
    default = ["CapEff:\t00000000a80425fb", "Seccomp:\t2", "NoNewPrivs:\t0"]
    capabilities, seccomp, no_new = demo_facts.parse_status(default)
    assert len(capabilities) == 14 and "SYS_ADMIN" not in capabilities and "MKNOD" in capabilities
    assert (seccomp, no_new) == ("filtering", False)
    assert demo_facts.parse_status(["Seccomp: 0"])[1] == "off"


def test_privileges_come_from_the_configuration_and_the_kernel() -> None:
    attrs = {
        "HostConfig": {
            "CapAdd": ["ALL"],
            "DeviceCgroupRules": ["a *:* rwm"],
            "Devices": [{"PathOnHost": "/dev/fuse"}, "junk"],
        },
        "Mounts": [{"Source": "/run/docker.sock", "Destination": "/var/run/docker.sock"}, 3],
        "AppArmorProfile": "unconfined",
    }
    inside = {"status": ["CapEff: 1ffffffffff", "Seccomp: 0"], "caplast": ["40"], "dev": ["14"]}
    rights = demo_facts.privileges(attrs, inside)
    assert rights.profile == "compatible" and not rights.privileged
    assert len(rights.capabilities) == rights.capabilities_known == 41
    assert rights.engine_sockets == ("/run/docker.sock",) and rights.host_devices == ("/dev/fuse",)
    assert (rights.seccomp, rights.dev_entries, rights.apparmor) == ("off", 14, "unconfined")
    unknown = demo_facts.privileges({}, {})
    assert (
        unknown.profile == "default" and unknown.capabilities == () and unknown.seccomp == "unknown"
    )
