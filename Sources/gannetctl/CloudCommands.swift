import ArgumentParser
import Cloud
import Control
import ControlText
import Dispatch
import Foundation

/// `gannetctl cloud …`: what only the cloud has — its nodes, evacuation of a failed node.
/// Every other command writes to the cloud with `--cloud ENDPOINTS`.
struct CloudCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cloud", abstract: "The cloud's nodes and evacuation (desired state in etcd).",
    subcommands: [Nodes.self, Evacuate.self, NodeDelete.self])

  /// Runs `body` with a writer on `endpoints` and waits for it (gannetctl is synchronous).
  static func blocking<T: Sendable>(_ endpoints: String, _ body: @escaping @Sendable (CloudWriter) async throws -> T) throws -> T {
    let list = endpoints.split(separator: ",").map(String.init).filter { !$0.isEmpty }
    guard !list.isEmpty else { throw ValidationError("--cloud: give etcd client URLs (http://HOST:2379,…)") }
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
      let etcd = EtcdClient(endpoints: list)
      do { box.set(.success(try await body(CloudWriter(etcd: etcd)))) } catch { box.set(.failure(error)) }
      await etcd.shutdown()
      done.signal()
    }
    done.wait()
    switch box.get()! {
    case .success(let v): return v
    case .failure(let e as ControlError):
      var stderr = StandardError()
      print("error (\(e.code)): \(e.message)", to: &stderr)
      throw ExitCode(1)
    case .failure(let e):
      var stderr = StandardError()
      print("error (etcd): \(e)", to: &stderr)
      throw ExitCode(1)
    }
  }

  final class ResultBox<T>: @unchecked Sendable {
    private var value: Result<T, Error>?
    private let lock = NSLock()
    func set(_ v: Result<T, Error>) { lock.withLock { value = v } }
    func get() -> Result<T, Error>? { lock.withLock { value } }
  }

  struct Endpoints: ParsableArguments {
    @Option(help: "etcd client URLs, comma-separated (default: $GANNET_CLOUD).")
    var cloud = ProcessInfo.processInfo.environment["GANNET_CLOUD"] ?? ""
  }

  struct Nodes: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List the registered nodes, whether they are alive, and the ports bound to each.",
      discussion: "Example: gannetctl cloud nodes --cloud http://10.0.0.5:2379")
    @OptionGroup var endpoints: Endpoints
    @Flag(help: "JSON instead of a table.") var json = false
    func run() throws {
      let snap = try CloudCommand.blocking(endpoints.cloud) { try await $0.read() }
      let rows = snap.nodes.keys.sorted().map { name -> [String] in
        let n = snap.nodes[name]!
        let ports = snap.state.ports.values.filter { $0.node == name }.count
        return [name, n.role, n.tunnelIP.description, n.dvrMAC.description, snap.alive.contains(name) ? "alive" : "down", "\(ports)"]
      }
      if json {
        let list = rows.map { ["name": $0[0], "role": $0[1], "tunnel_ip": $0[2], "dvr_mac": $0[3], "state": $0[4], "ports": Int($0[5])!] as [String: Any] }
        let data = try JSONSerialization.data(withJSONObject: ["revision": snap.revision, "nodes": list, "refused": snap.refused],
                                              options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
      } else {
        var t = TextTable("NODE", "ROLE", "TUNNEL-IP", "DVR-MAC", "STATE", "PORTS")
        for r in rows { t.add(r) }
        print(t.text, terminator: "")
        for (k, why) in snap.refused.sorted(by: { $0.key < $1.key }) { print("refused \(k): \(why)") }
      }
    }
  }

  struct Evacuate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Re-bind every port of a node to another node (its VMs restarted there).",
      discussion: "Example: gannetctl cloud evacuate compute-1 --to compute-2 --cloud http://10.0.0.5:2379")
    @OptionGroup var endpoints: Endpoints
    @Argument(help: "The node to empty.") var node: String
    @Option(help: "The node that takes its ports.") var to: String
    func run() throws {
      let from = node, target = to
      let (revision, moved) = try CloudCommand.blocking(endpoints.cloud) { try await $0.evacuate(from, to: target) }
      print("moved \(moved.count) port\(moved.count == 1 ? "" : "s") from \(from) to \(target)\(moved.isEmpty ? "" : ": " + moved.joined(separator: ", ")) (cloud revision \(revision))")
    }
  }

  struct NodeDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "node-delete", abstract: "Remove a node that has no ports from the registry (its chassis leaves every node).",
      discussion: "Example: gannetctl cloud node-delete compute-1 --cloud http://10.0.0.5:2379")
    @OptionGroup var endpoints: Endpoints
    @Argument(help: "Node name.") var node: String
    func run() throws {
      let name = node
      let revision = try CloudCommand.blocking(endpoints.cloud) { try await $0.deleteNode(name) }
      print("ok (cloud revision \(revision))")
    }
  }
}
