import Foundation
import TestSupport
import Testing

// The Prometheus endpoint (issue 17, item 6), scraped by Debian's real Prometheus server and
// linted by promtool. gannetd runs in its host namespace, so the endpoint, Prometheus and
// every fetch live there too (127.0.0.1 of that namespace).

/// Reading gannetd's metrics endpoint.
enum Scrape {
  /// GET `url` from inside `namespace` (python3: no curl needed); "" on failure.
  static func fetch(_ namespace: String, _ url: String) throws -> String {
    try sh(["timeout", "-s", "KILL", "15", "ip", "netns", "exec", namespace, "python3", "-c",
            "import urllib.request, sys; sys.stdout.write(urllib.request.urlopen('\(url)', timeout=5).read().decode())"], check: false).out
  }

  /// The value of the first sample of `series` (a name with labels, as exposed), or nil.
  static func sample(_ text: String, _ series: String) -> Double? {
    text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
  }
}

@Suite(.serialized, .enabled(if: isRoot, "creates network namespaces and veth pairs: needs root"))
struct MetricsTests {
  func fetch(_ namespace: String, _ url: String) throws -> String { try Scrape.fetch(namespace, url) }
  func sample(_ text: String, _ series: String) -> Double? { Scrape.sample(text, series) }

  @Test func prometheusScrapesTheEndpointAndTheSeriesMoveWithTraffic() throws {
    let port = Int.random(in: 20000..<30000), promPort = port + 1
    let c = try oneNodeTwoVMs(TestCloud(workers: 2, extraConfig: #""metrics": {"listen": "127.0.0.1:\#(port)"}"#))
    defer { c.destroy() }
    #expect(try c.ping(from: "a1", "10.0.0.2"), "a1 -> a2: \(c.log())")

    // The exposition: per port, per node and per worker series, lint-clean.
    let url = "http://127.0.0.1:\(port)/metrics"
    let text = try fetch(c.host, url)
    let rx = sample(text, #"gannet_port_rx_packets_total{port="a1",interface="af-packet"}"#)
    #expect((rx ?? 0) >= 3, "\(text.prefix(2000))")
    #expect(text.contains("# TYPE gannet_port_rx_packets_total counter"))
    #expect(text.contains(#"gannet_node_packets_total{worker=""#) && text.contains(#"node="l2-forward"}"#))
    #expect(sample(text, "gannet_scrape_errors") == 0)
    #expect(sample(text, #"gannet_objects{kind="ports"}"#) == 2)
    #expect(sample(text, "gannet_control_commits_total") == 3 && (sample(text, "gannet_control_commit_seconds_total") ?? 0) > 0)
    let file = "\(c.dir)/metrics.txt"
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    let lint = try sh(["sh", "-c", "promtool check metrics < \(file)"], check: false)
    #expect(lint.status == 0, "promtool check metrics: \(lint.out)")

    // A real Prometheus scrapes it every second; the series it stores grow with traffic.
    let config = "\(c.dir)/prometheus.yml"
    try """
      global: {scrape_interval: 1s, evaluation_interval: 1s}
      scrape_configs:
        - job_name: gannet
          static_configs: [{targets: ['127.0.0.1:\(port)']}]
      """.write(toFile: config, atomically: true, encoding: .utf8)
    let prom = Process()
    prom.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    prom.arguments = ["timeout", "-s", "KILL", "120", "ip", "netns", "exec", c.host, "prometheus", "--config.file=\(config)",
                      "--storage.tsdb.path=\(c.dir)/tsdb", "--web.listen-address=127.0.0.1:\(promPort)"]
    prom.standardOutput = FileHandle.nullDevice
    prom.standardError = FileHandle(forWritingAtPath: "/dev/null")
    try prom.runUnblocked()
    defer { if prom.isRunning { prom.terminate() } }
    func stored() throws -> Double? {
      let q = "http://127.0.0.1:\(promPort)/api/v1/query?query=gannet_port_rx_packets_total%7Bport%3D%22a2%22%7D"
      guard let o = try JSONSerialization.jsonObject(with: Data(try fetch(c.host, q).utf8)) as? [String: Any],
            let data = o["data"] as? [String: Any], let result = data["result"] as? [[String: Any]],
            let value = result.first?["value"] as? [Any], let s = value.last as? String else { return nil }
      return Double(s)
    }
    var first: Double = 0
    try waitFor("Prometheus to scrape gannetd", seconds: 40) {
      guard let v = try? stored() else { return false }
      first = v
      return true
    }
    #expect(try TestCloud.ping(namespace: c.vms["a1"]!.ns, "10.0.0.2", count: 10, interval: "0.1"))
    try waitFor("the stored series to grow with the pings", seconds: 30) { ((try? stored()) ?? 0) >= first + 10 }
    let up = try fetch(c.host, "http://127.0.0.1:\(promPort)/api/v1/query?query=up%7Bjob%3D%22gannet%22%7D")
    #expect(up.contains(#""1"]"#), "Prometheus sees the target up: \(up)")
  }
}
