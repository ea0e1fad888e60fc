#!/usr/bin/python3
"""Writes the small seed corpora of the libFuzzer targets into Fuzz/corpus/TARGET/.

Run from the repository root: /usr/bin/python3 (Debian's, with python3-scapy): Fuzz/make-seeds.py. The seeds are committed; this
script says how they were made. Frames follow fuzz-frames' rig (see FuzzFrames.swift):
byte 0 picks the port (0, 1: VMs on 10.1.0.0/24; 2: uplink; 3: underlay; 4: VM on 10.2.0.0/24).
"""
import json, os
from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, VXLAN, raw

root = "Fuzz/corpus"
def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

vmA, vmB, vmC = "fa:16:3e:01:00:0a", "fa:16:3e:01:00:0b", "fa:16:3e:02:00:0c"
gw1, gw2 = "fa:16:3e:ff:01:00", "fa:16:3e:ff:02:00"
uplink, upstream, underlay, peer = "02:00:00:00:0e:01", "02:00:00:00:00:fe", "02:00:00:00:01:01", "02:00:00:00:01:02"
frames = {
    "vm-arp-gateway": (0, Ether(src=vmA, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=vmA, psrc="10.1.0.10", pdst="10.1.0.1")),
    "vm-arp-neighbour": (0, Ether(src=vmA, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=vmA, psrc="10.1.0.10", pdst="10.1.0.11")),
    "vm-echo-gateway": (0, Ether(src=vmA, dst=gw1) / IP(src="10.1.0.10", dst="10.1.0.1") / ICMP(id=7, seq=1)),
    "vm-l2": (0, Ether(src=vmA, dst=vmB) / IP(src="10.1.0.10", dst="10.1.0.11") / UDP(sport=4000, dport=53) / (b"x" * 20)),
    "vm-east-west": (0, Ether(src=vmA, dst=gw1) / IP(src="10.1.0.10", dst="10.2.0.12", ttl=2) / TCP(sport=40000, dport=22, flags="S")),
    "vm-remote": (0, Ether(src=vmA, dst=gw1) / IP(src="10.1.0.10", dst="10.1.0.20", flags="DF") / UDP(sport=1, dport=2) / (b"y" * 1400)),
    "vm-snat-tcp": (0, Ether(src=vmA, dst=gw1) / IP(src="10.1.0.10", dst="8.8.8.8") / TCP(sport=40000, dport=80, flags="S")),
    "vm-snat-icmp": (0, Ether(src=vmA, dst=gw1) / IP(src="10.1.0.10", dst="8.8.8.8") / ICMP(id=9)),
    "vm-fip-udp": (1, Ether(src=vmB, dst=gw1) / IP(src="10.1.0.11", dst="8.8.8.8") / UDP(sport=5000, dport=53)),
    "vm-static-route": (4, Ether(src=vmC, dst=gw2) / IP(src="10.2.0.12", dst="10.9.1.1") / UDP(sport=5, dport=6)),
    "uplink-arp-fip": (2, Ether(src=upstream, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=upstream, psrc="203.0.113.1", pdst="203.0.113.5")),
    "uplink-to-fip": (2, Ether(src=upstream, dst=uplink) / IP(src="8.8.8.8", dst="203.0.113.5") / TCP(sport=80, dport=22, flags="S")),
    "uplink-to-snat": (2, Ether(src=upstream, dst=uplink) / IP(src="8.8.8.8", dst="203.0.113.10") / TCP(sport=80, dport=1024, flags="SA")),
    "uplink-icmp-error": (2, Ether(src=upstream, dst=uplink) / IP(src="8.8.4.4", dst="203.0.113.5") / ICMP(type=3, code=3)
                          / IP(src="203.0.113.5", dst="8.8.8.8") / UDP(sport=5000, dport=53)),
    "underlay-arp": (3, Ether(src=peer, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=peer, psrc="192.0.2.12", pdst="192.0.2.11")),
    "underlay-vxlan": (3, Ether(src=peer, dst=underlay) / IP(src="192.0.2.12", dst="192.0.2.11", flags="DF") / UDP(sport=50000, dport=4789)
                       / VXLAN(vni=100) / Ether(src="fa:16:3e:01:00:14", dst=vmA) / IP(src="10.1.0.20", dst="10.1.0.10") / ICMP()),
    "underlay-vxlan-routed": (3, Ether(src=peer, dst=underlay) / IP(src="192.0.2.12", dst="192.0.2.11") / UDP(sport=50001, dport=4789)
                              / VXLAN(vni=200) / Ether(src="fa:16:3f:00:00:12", dst=vmC) / IP(src="10.1.0.20", dst="10.2.0.12") / UDP()),
}
for name, (port, pkt) in frames.items():
    put("fuzz-frames", name, bytes([port]) + raw(pkt))

def req(op, **args):
    return json.dumps({"version": 1, "op": op, "args": args})
cloud = [
    req("network.create", id="net-a", tenant="t", vni=1001),
    req("network.create", id="net-b", tenant="t", vni=1002, mtu=1400, learning=True),
    req("port.create", id="vm1", network="net-a", mac="fa:16:3e:00:00:01", fixed_ips=["10.1.0.10"], local="af-packet:tap1"),
    req("port.create", id="vm2", network="net-a", mac="fa:16:3e:00:00:02", fixed_ips=["10.1.0.11"], remote="192.0.2.12"),
    req("router.create", id="r1", tenant="t"),
    req("router.interface.add", router="r1", network="net-a", address="10.1.0.1/24", mac="fa:16:3e:ff:01:00"),
    req("router.interface.add", router="r1", network="net-b", address="10.2.0.1/24", mac="fa:16:3e:ff:02:00"),
    req("router.route.add", router="r1", prefix="10.9.0.0/16", next_hop="10.2.0.254"),
    req("chassis.set", tunnel_ip="192.0.2.12", dvr_mac="fa:16:3f:00:00:12"),
    req("router.gateway.set", router="r1", external_ip="203.0.113.10/24", upstream="203.0.113.1", mac="fa:16:3e:ee:00:01",
        snat_node="192.0.2.13", port_range="1024-2047"),
    req("fip.create", ip="203.0.113.20", port="vm1"),
    req("fdb.add", network="net-a", mac="fa:16:3e:00:00:09", port="vm2"),
]
put("fuzz-control", "cloud", "\n".join(cloud) + "\n")
put("fuzz-control", "changes", "\n".join(cloud[:4] + [
    req("port.update", id="vm1", remote="192.0.2.14"), req("fip.disassociate", ip="203.0.113.20"),
    req("port.delete", id="vm2"), req("network.delete", id="net-b"),
    req("batch", requests=[{"op": "network.create", "args": {"id": "n3", "tenant": "u", "vni": 7}},
                           {"op": "port.create", "args": {"id": "p3", "network": "n3", "mac": "fa:16:3e:00:00:33", "remote": "192.0.2.20"}}]),
]) + "\n")

state = {"generation": 4, "networks": {"net-a": {"id": "net-a", "tenant": "t", "vni": 1001, "mtu": 1450, "learning": False,
                                                  "learningLimit": 4096, "agingSeconds": 300}},
         "ports": {"vm1": {"id": "vm1", "network": "net-a", "mac": "fa:16:3e:00:00:01", "fixedIPs": ["10.1.0.10"],
                           "location": {"local": {"_0": "af-packet:tap1"}}, "portSecurity": True},
                   "vm2": {"id": "vm2", "network": "net-a", "mac": "fa:16:3e:00:00:02", "fixedIPs": ["10.1.0.11"],
                           "location": {"remote": {"_0": "192.0.2.12"}}, "portSecurity": False}},
         "fdb": [], "routers": {"r1": {"id": "r1", "tenant": "t", "interfaces": [{"network": "net-a", "address": "10.1.0.1",
                 "prefixLength": 24, "mac": "fa:16:3e:ff:01:00"}], "routes": [],
                 "gateway": {"externalIP": "203.0.113.10", "prefixLength": 24, "upstream": "203.0.113.1", "mac": "fa:16:3e:ee:00:01",
                             "snatNode": "192.0.2.13", "portLow": 1024, "portHigh": 65535}}},
         "chassis": [{"tunnelIP": "192.0.2.12", "dvrMAC": "fa:16:3f:00:00:12"}],
         "floatingIPs": {"203.0.113.20": {"address": "203.0.113.20", "port": "vm1", "fixedIP": "10.1.0.10"}}}
put("fuzz-state", "cloud.json", json.dumps(state, indent=1))
put("fuzz-state", "empty.json", json.dumps({"generation": 0, "networks": {}, "ports": {}, "fdb": []}))

put("fuzz-config", "compute.json", json.dumps({
    "node": {"name": "compute-1", "role": "compute", "tunnel_ip": "192.0.2.11", "dvr_host_mac": "fa:16:3f:00:00:11"},
    "control_socket": "/run/gannet/gannetd.sock", "state_file": "/var/lib/gannet/state.json", "workers": 2, "cores": [0, 1],
    "underlay_mtu": 1500, "underlay": {"interface": "af-packet:eth1", "prefix_length": 24, "gateway": "192.0.2.1"},
    "uplink": {"interface": "af-packet:eth2"}, "dpdk": {"enabled": False, "memory_mb": 1024}, "idle_sleep_us": 0}, indent=1))
put("fuzz-config", "network.json", json.dumps({
    "node": {"name": "network-1", "role": "network", "tunnel_ip": "192.0.2.13", "dvr_host_mac": "fa:16:3f:00:00:13"},
    "underlay": {"interface": "dpdk:net_af_packet0,iface=eth1,qpairs=3", "mac": "02:00:00:00:00:13"},
    "nat": {"max_sessions": 65536, "tcp_established_s": 7440, "tcp_transitory_s": 240, "udp_s": 300, "icmp_s": 60}}))
