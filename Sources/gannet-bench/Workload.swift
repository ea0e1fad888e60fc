import Foundation
import Wire

/// A shared workload (`shared/workloads/gen_workloads.py`): its pcap and the forwarding
/// state the data plane needs for it, derived from the same manifest the pcaps came from.
struct Workload {
  let name: String
  let pcap: String
  let packets: Int
  /// L2 entries: every destination MAC of the workload goes to the output port.
  let macs: [MACAddress]

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
    switch name {
    case "w1":
      // VM MAC rule of the manifest: 10.A.B.C -> fa:16:3e:0A:0B:0C.
      guard let vms = topology["w1_vms"] as? [String] else { throw BenchError("manifest: topology.w1_vms missing") }
      let macs = try vms.map { ip -> MACAddress in
        guard let a = IPv4Address(ip) else { throw BenchError("manifest: bad VM address \(ip)") }
        return MACAddress(0xfa, 0x16, 0x3e, UInt8(truncatingIfNeeded: a.value >> 16),
                          UInt8(truncatingIfNeeded: a.value >> 8), UInt8(truncatingIfNeeded: a.value))
      }
      return Workload(name: name, pcap: directory + "/" + file, packets: packets, macs: macs)
    default:
      throw BenchError("workload '\(name)' needs a pipeline Gannet does not have yet (only w1: L2 forwarding)")
    }
  }
}

struct BenchError: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
