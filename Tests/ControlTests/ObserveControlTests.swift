import Control
import ControlText
import Foundation
import Testing
import Wire

/// Capture and trace requests: their wire form, what is refused, and what gannetctl prints.
@Suite struct ObserveControlTests {
  static let trace = TraceReply(state: "done", port: "a1", filter: "icmp", wanted: 1, packets: [
    TracedPacket(id: 1 << 24 | 7, worker: 1, steps: [
      TraceStep(nanoseconds: 0, node: "rx", next: "ethernet-input", drop: nil, inPort: "a1", outPort: nil, generation: 13,
                frame: "fa:16:3e:01:00:0a > fa:16:3e:ff:01:00, 10.1.0.10 > 10.3.0.20 ttl 64, ICMP echo request id 5 seq 1 (98 bytes)",
                detail: nil),
      TraceStep(nanoseconds: 2_150, node: "ip4-lookup", next: "vxlan-encap", drop: nil, inPort: "a1", outPort: nil, generation: 13,
                frame: "fa:16:3f:00:00:11 > fa:16:3e:03:00:14, 10.1.0.10 > 10.3.0.20 ttl 63, ICMP echo request id 5 seq 1 (98 bytes)",
                detail: "route 10.3.0.0/24 connected to network net-3 (router r1)"),
      TraceStep(nanoseconds: 3_900, node: "ip4-lookup", next: "icmp-error", drop: "ip4-no-route", inPort: "a1", outPort: nil, generation: 13,
                frame: "fa:16:3e:01:00:0a > fa:16:3e:ff:01:00, 10.1.0.10 > 10.77.0.1 ttl 64, ICMP echo request id 5 seq 2 (98 bytes)",
                detail: "answered with ICMP type 3 code 0"),
      TraceStep(nanoseconds: 5_000, node: "port-output", next: nil, drop: nil, inPort: "a1", outPort: "underlay", generation: 13,
                frame: "02:00:00:00:00:01 > 02:00:00:00:00:02, 10.9.0.1 > 10.9.0.2 ttl 64, VXLAN vni 103 | ... (148 bytes)",
                detail: "sent on underlay"),
    ]),
  ])

  @Test func requestsRoundTripAndBadOnesAreNamed() throws {
    let reqs: [ControlRequest] = [
      .captureStart(CaptureRequest(port: "a1", direction: .rx, filter: "icmp", count: 3, seconds: 10, file: "/tmp/x.pcap")),
      .captureStatus, .captureStop, .traceStart(TraceRequest(port: "underlay", filter: "udp port 4789", count: 2)), .traceShow, .traceStop,
      .tracePacket(TracePacketRequest(port: "a1", packet: "ip 10.1.0.10 > 10.2.0.10 icmp")),
      .tracePacket(TracePacketRequest(port: "a1", frame: [UInt8](repeating: 0xab, count: 60), ctState: "new")),
      .dumpFlows(DumpFlowsFilter()), .dumpFlows(DumpFlowsFilter(table: "fib", network: "net-3", router: "r1")),
    ]
    for r in reqs {
      #expect(try ControlRequest.parse(try JSONSerialization.data(withJSONObject: r.json())) == r)
      #expect(!r.isChange)
    }
    func refusal(_ op: String, _ args: String) -> String {
      do {
        _ = try ControlRequest.parse(Data(#"{"version": 1, "op": "\#(op)", "args": \#(args)}"#.utf8))
        return "accepted"
      } catch { return error.message }
    }
    #expect(refusal("capture.start", #"{"port": "a1", "file": "rel.pcap"}"#).contains("absolute path"))
    #expect(refusal("capture.start", #"{"port": "a1", "file": "/x", "direction": "up"}"#).contains("rx, tx or both"))
    #expect(refusal("capture.start", #"{"port": "a1", "file": "/x", "count": 0}"#).contains("count"))
    #expect(refusal("trace.start", #"{"port": "a1", "count": 5000}"#).contains("count"))
    #expect(refusal("trace.packet", #"{"port": "a1"}"#).contains("'packet' or 'frame'"))
    #expect(refusal("trace.packet", #"{"port": "a1", "frame": "zz"}"#).contains("hexadecimal"))
    #expect(refusal("trace.packet", #"{"port": "a1", "packet": "ip 1.2.3.4 > 5.6.7.8", "ct_state": "old"}"#).contains("live or new"))
    #expect(ControlRequest.hexBytes("0a:0b 0c") == [10, 11, 12] && ControlRequest.hexBytes("0g") == nil)
    #expect(refusal("dump.flows", #"{"table": "nat"}"#).contains("not one of l2, fib, neighbors, tunnels, acl, flows"))
  }

  @Test func outputs() throws {
    let golden = GoldenTextTests()
    try golden.check("trace-show", Render.trace(Self.trace))
    var dry = Self.trace
    dry.state = "dry-run"
    dry.outputs = [TraceOutput(port: "underlay", frame: "VXLAN vni 103 | ...", hex: "00")]
    try golden.check("trace-packet", Render.trace(dry))
    try golden.check("capture", Render.capture(CaptureReply(state: "done", port: "a1", direction: "rx", filter: "icmp", file: "/tmp/a1.pcap",
                                                            wanted: 3, written: 3, lost: 0)))
    try golden.check("dump-flows", Render.dumpFlows([
      DumpFlowRow(table: "l2", match: "network=net-1,dl_dst=fa:16:3e:ff:01:00", action: "ip4-input (router interface r1 net-1)",
                  object: "router r1", packets: 7, bytes: 686),
      DumpFlowRow(table: "fib", match: "router=r1,nw_dst=10.3.0.20/32", action: "rewrite dl_dst=fa:16:3e:03:00:14 on net-3",
                  object: "neighbor 10.3.0.20 on net-3", packets: 7, bytes: 686),
      DumpFlowRow(table: "acl", match: "ingress,stateful,proto=tcp,ports=5001,remote=10.1.0.0/24", action: "allow, track",
                  object: "sg web rule app", packets: 1, bytes: nil),
    ]))
    let o = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(Self.trace.packets[0].steps[3])) as? [String: Any]
    #expect(o?.keys.sorted() == ["detail", "frame", "generation", "in_port", "nanoseconds", "node", "out_port"])
  }
}
