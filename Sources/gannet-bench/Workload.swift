import Foundation
import IO
import Pipeline
import Wire

/// A shared workload (`shared/workloads/gen_workloads.py`): its pcap and the forwarding
/// state the data plane needs for it, derived from the same manifest the pcaps came from.
struct Workload {
  let name: String
  var pcap: String
  let packets: Int
  /// L2 entries: every destination MAC of the workload goes to the output port.
  let macs: [MACAddress]
  /// W5: the input port is the VXLAN underlay, this node is the local VTEP, and the
  /// frames come from the remote VTEP (a tunnel carrying the network's VNI).
  var overlay: OverlayConfig? = nil

  /// W2: the input port is on subnet 1, the output port on subnet 2 of one router.
  var routing: RoutingConfig? = nil
  /// W3/W4: the external network. W3: input = the uplink, output = the VMs' port; W4: input
  /// = the VMs' port, output = the uplink (this node is the router's SNAT node).
  var external: ExternalConfig? = nil

  /// The data plane for this workload: input port 0, output port 1, one network.
  func snapshot(ports: [IO.Port]) -> DataplaneSnapshot {
    if let routing, let external {
      let uplink = external.uplinkInterface!, vm = 1 - uplink
      var infos = [InterfaceInfo](repeating: InterfaceInfo(domain: 0, portSecurity: false, mac: external.uplinkMAC), count: 2)
      infos[vm] = InterfaceInfo(domain: 1, portSecurity: false, mac: .zero)
      return DataplaneSnapshot(generation: 1, ports: ports, interfaces: infos, poll: [[0]], domains: 1, l2: routing.gatewayL2Entries,
                               routing: routing, external: external)
    }
    if let routing {
      return DataplaneSnapshot(generation: 1, ports: ports,
                               interfaces: [InterfaceInfo(domain: 1, portSecurity: false, mac: .zero),
                                            InterfaceInfo(domain: 2, portSecurity: false, mac: .zero)],
                               poll: [[0]], domains: 2, l2: routing.gatewayL2Entries, routing: routing)
    }
    guard let overlay else { return .singleNetwork(ports: ports, poll: [0], macs: macs.map { ($0, 1) }) }
    return DataplaneSnapshot(generation: 1, ports: ports,
                             interfaces: [InterfaceInfo(domain: 0, portSecurity: false, mac: overlay.localMAC),
                                          InterfaceInfo(domain: 1, portSecurity: false, mac: .zero)],
                             poll: [[0]], domains: 1, l2: macs.map { (1, $0, L2Value.local(1)) }, overlay: overlay)
  }

  /// Reads `manifest.json` in `directory` and derives the tables for `name`.
  static func load(_ name: String, directory: String) throws -> Workload {
    let manifestPath = directory + "/manifest.json"
    guard let data = FileManager.default.contents(atPath: manifestPath) else {
      throw BenchError("no \(manifestPath); generate the workloads first: tools/workloads.sh \(directory)")
    }
    guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let workloads = root["workloads"] as? [String: Any], let topology = root["topology"] as? [String: Any] else {
      throw BenchError("\(manifestPath): not a workload manifest")
    }
    guard let w = workloads[name] as? [String: Any], let file = w["file"] as? String, let packets = w["packets"] as? Int else {
      throw BenchError("\(manifestPath) has no workload '\(name)' (has: \(workloads.keys.sorted().joined(separator: ", ")))")
    }
    // VM MAC rule of the manifest: 10.A.B.C -> fa:16:3e:0A:0B:0C.
    func w1MACs() throws -> [MACAddress] {
      guard let vms = topology["w1_vms"] as? [String] else { throw BenchError("manifest: topology.w1_vms missing") }
      return try vms.map { ip -> MACAddress in
        guard let a = IPv4Address(ip) else { throw BenchError("manifest: bad VM address \(ip)") }
        return MACAddress(0xfa, 0x16, 0x3e, UInt8(truncatingIfNeeded: a.value >> 16),
                          UInt8(truncatingIfNeeded: a.value >> 8), UInt8(truncatingIfNeeded: a.value))
      }
    }
    func vtep(_ key: String) throws -> (IPv4Address, MACAddress) {
      guard let pair = topology[key] as? [String], pair.count == 2, let ip = IPv4Address(pair[0]), let mac = MACAddress(pair[1]) else {
        throw BenchError("manifest: topology.\(key) is not [IPv4, MAC]")
      }
      return (ip, mac)
    }
    switch name {
    case "w1":
      return Workload(name: name, pcap: directory + "/" + file, packets: packets, macs: try w1MACs())
    case "w5":
      let (localIP, localMAC) = try vtep("local_vtep"), (remoteIP, remoteMAC) = try vtep("remote_vtep")
      guard let vni = topology["vni"] as? Int else { throw BenchError("manifest: topology.vni missing") }
      var o = OverlayConfig()
      o.underlayInterface = 0
      o.localIP = localIP
      o.localMAC = localMAC
      // The remote VTEP is on the underlay subnet: its MAC is the next hop's (as ARP would resolve it).
      o.tunnels = [.init(index: 0, remote: remoteIP, nextHopMAC: remoteMAC)]
      o.vni = [1: UInt32(vni)]
      o.domainTunnels = [1: [0]]
      return Workload(name: name, pcap: directory + "/" + file, packets: packets, macs: try w1MACs(), overlay: o)
    case "w2":
      // The manifest's rules: gateway MAC of 10.A.B.0/24 is fa:16:3e:ff:0A:0B, VM MAC of 10.A.B.C fa:16:3e:0A:0B:0C.
      let gw1 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 1, 0), gw2 = MACAddress(0xfa, 0x16, 0x3e, 0xff, 2, 0)
      var r = RoutingConfig()
      r.addInterface(vrf: 0, domain: 1, address: IPv4Address(10, 1, 0, 1), prefixLength: 24, mac: gw1, mtu: 1500)
      r.addInterface(vrf: 0, domain: 2, address: IPv4Address(10, 2, 0, 1), prefixLength: 24, mac: gw2, mtu: 1500)
      r.neighbors = (2...254).map { h in (2, IPv4Address(10, 2, 0, UInt8(h)), MACAddress(0xfa, 0x16, 0x3e, 2, 0, UInt8(h)), L2Value.local(1)) }
      var w = Workload(name: name, pcap: directory + "/" + file, packets: packets, macs: [])
      w.routing = r
      return w
    case "w3", "w4":
      // One router: 10.1.0.1/16 (gateway MAC fa:16:3e:ff:01:00), default route to the external
      // network; the manifest's upstream MAC and router external port MAC; SNAT address and ports.
      guard let up = (topology["upstream_mac"] as? String).flatMap(MACAddress.init), let ext = (topology["ext_gw_mac"] as? String).flatMap(MACAddress.init),
            let snat = (topology["snat_ip"] as? String).flatMap(IPv4Address.init), let range = topology["snat_ports"] as? [Int], range.count == 2
      else { throw BenchError("manifest: topology.upstream_mac, ext_gw_mac, snat_ip or snat_ports missing") }
      let w3 = name == "w3"
      var r = RoutingConfig()
      r.addInterface(vrf: 0, domain: 1, address: IPv4Address(10, 1, 0, 1), prefixLength: 16, mac: MACAddress(0xfa, 0x16, 0x3e, 0xff, 1, 0),
                     mtu: 1500)
      r.addExternalRoute(vrf: 0)
      var e = ExternalConfig()
      e.uplinkInterface = w3 ? 0 : 1
      e.uplinkMAC = ext
      e.gateways = [.init(vrf: 0, externalIP: snat, mac: ext, upstreamMAC: up, portLow: UInt16(range[0]), portHigh: UInt16(range[1]),
                          snatHere: true, snatTunnel: nil, routerInterface: 0)]
      if w3 {
        // 203.0.113.I -> 10.1.(I/64).(10 + I%64), each fixed IP a VM behind port 1 (VM MAC rule).
        for i in 0..<256 {
          let fixed = IPv4Address(10, 1, UInt8(i / 64), UInt8(10 + i % 64))
          e.floatingIPs.append(.init(address: IPv4Address(203, 0, 113, UInt8(i)), vrf: 0, inside: fixed, upstreamMAC: up, routerInterface: 0))
          r.neighbors.append((1, fixed, MACAddress(0xfa, 0x16, 0x3e, 1, UInt8(i / 64), UInt8(10 + i % 64)), L2Value.local(1)))
        }
      }
      var w = Workload(name: name, pcap: directory + "/" + file, packets: packets, macs: [])
      w.routing = r
      w.external = e
      return w
    default:
      throw BenchError("workload '\(name)' needs a pipeline Gannet does not have yet (w1: L2, w2: routing, w3: floating IP, w4: SNAT, w5: VXLAN decap + L2)")
    }
  }
}

struct BenchError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
