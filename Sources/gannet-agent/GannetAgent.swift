import ArgumentParser
import Cloud
import Control
import Foundation
import Logging
import Wire

/// gannet-agent: follows the cloud's desired state in etcd for one node and programs the
/// node's gannetd through its control socket.
///
/// A process of its own beside gannetd, not a mode of it: gannetd's data plane and control
/// socket never wait on etcd or an HTTP stack, an agent that crashes or hangs leaves
/// forwarding untouched (gannetd keeps the last program, and shows the agent as
/// disconnected once its reports stop), and gannetd stays a node-local daemon that an
/// operator can still program by hand.
@main
struct GannetAgent: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gannet-agent",
    abstract: "Program this node's gannetd from the cloud's desired state in etcd.",
    discussion: """
      Registers the node (name, role, tunnel IP and DVR MAC, read from gannetd) in etcd, keeps
      it alive under a lease, watches the cloud's keys and applies this node's program to
      gannetd as one atomic change per etcd revision. When etcd is unreachable, gannetd keeps
      forwarding with the last program and `gannetctl show node` says the agent is disconnected.
      Example:
        gannet-agent --etcd http://10.0.0.5:2379,http://10.0.0.6:2379 --socket /run/gannet/gannetd.sock
      """)

  @Option(help: "etcd client URLs, comma-separated.") var etcd: String
  @Option(help: "gannetd's control socket (default: $GANNET_SOCKET, else \(ControlProtocol.defaultSocketPath)).")
  var socket = ProcessInfo.processInfo.environment["GANNET_SOCKET"] ?? ControlProtocol.defaultSocketPath
  @Option(help: "Key prefix of the cloud in etcd.") var prefix = CloudKeys.defaultPrefix
  @Option(help: "Seconds the node stays alive in etcd without the agent renewing its lease.") var leaseTTL = 5

  func run() async throws {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var log = Logger(label: "gannet-agent")
    log.logLevel = .info
    guard (2...3600).contains(leaseTTL) else { throw ValidationError("--lease-ttl must be 2…3600 seconds") }
    let endpoints = etcd.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    guard !endpoints.isEmpty, endpoints.allSatisfy({ $0.hasPrefix("http://") || $0.hasPrefix("https://") }) else {
      throw ValidationError("--etcd: give http(s)://HOST:PORT URLs, comma-separated")
    }
    let gannetd = ControlClient(path: socket)
    // gannetd names the node; wait for it to answer (it may be starting).
    var node: NodeReply? = nil
    for attempt in 0... {
      do {
        node = try gannetd.call(.show(.node), as: NodeReply.self).result
        break
      } catch {
        if attempt % 10 == 0 { log.warning("gannetd at \(socket) does not answer yet: \(error.message)") }
        try await Task.sleep(for: .milliseconds(500))
      }
    }
    guard let node, let tunnelIP = IPv4Address(node.tunnelIP), let mac = MACAddress(node.dvrHostMAC) else {
      throw ValidationError("gannetd's node has no valid tunnel IP / DVR MAC")
    }
    let record = NodeRecord(name: node.name, role: node.role, tunnelIP: tunnelIP, dvrMAC: mac)
    let client = EtcdClient(endpoints: endpoints)
    let agent = NodeAgent(record: record, etcd: client, gannetd: gannetd, prefix: prefix, leaseTTL: leaseTTL, log: log)
    log.info("following the cloud", metadata: ["node": "\(record.name)", "etcd": "\(endpoints.joined(separator: ","))", "prefix": "\(prefix)"])
    await agent.run()
    await client.shutdown()
  }
}
