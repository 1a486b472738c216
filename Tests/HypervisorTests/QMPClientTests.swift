import Foundation
import HostKit
import Hypervisor
import TestSupport
import Testing

/// The QMP client against a scripted peer (greeting, ids, events, errors, timeouts), and
/// sockets that are not QMP.
@Suite struct QMPClientTests {
    static let greeting =
        #"{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}"#

    static func client(_ replies: [String: [[String]]], greeting: [String] = [greeting]) -> (
        QMPClient, ScriptedQMPTransport
    ) {
        let t = ScriptedQMPTransport(greeting: greeting, replies: replies)
        return (QMPClient(transport: t, greetingTimeout: .milliseconds(50), replyTimeout: .milliseconds(50)), t)
    }

    @Test func handshakeAndCommandsMatchedByID() throws {
        let (c, t) = Self.client([
            "qmp_capabilities": [[#"{"return": {}, "id": "{ID}"}"#]],
            "query-version": [
                [
                    #"{"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 0}}"#,
                    #"{"return": {"stale": true}, "id": "someone-else"}"#,
                    #"{"return": {"qemu": {"major": 7}}, "id": "{ID}"}"#,
                ]
            ],
        ])
        try c.connect()
        #expect(c.qemuVersion == QEMUVersion(7, 2, 22))
        let v = try c.run("query-version")
        #expect(v["qemu"]?["major"]?.intValue == 7)
        #expect(c.events.map { $0["event"]?.stringValue } == ["RESUME"])
        #expect(
            t.sent == [
                #"{"execute":"qmp_capabilities","id":"vgpuctl-1"}"#, #"{"execute":"query-version","id":"vgpuctl-2"}"#,
            ])
    }

    @Test func errorRepliesKeepClassAndDescription() throws {
        let (c, _) = Self.client([
            "qmp_capabilities": [[#"{"return": {}}"#]],
            "device_del": [
                [#"{"error": {"class": "DeviceNotFound", "desc": "Device 'x' not found"}, "id": "{ID}"}"#],
                [#"{"error": {"class": "DeviceNotFound", "desc": "Device 'x' not found"}, "id": "{ID}"}"#],
            ],
        ])
        try c.connect()
        #expect(
            try c.execute("device_del", ["id": .string("x")])
                == .failure(QMPError(command: "device_del", errorClass: "DeviceNotFound", desc: "Device 'x' not found"))
        )
        #expect {
            try c.run("device_del", ["id": .string("x")])
        } throws: { e in
            (e as? HypervisorError)?.message == "QEMU refused device_del: DeviceNotFound: Device 'x' not found"
        }
        // No answer at all is a timeout, not a hang.
        #expect {
            try c.run("query-status")
        } throws: { e in
            ((e as? HypervisorError)?.message ?? "").contains("did not answer query-status")
        }
    }

    @Test func detachWaitsForDeviceDeletedAndReportsATimeout() throws {
        let qom =
            #"{"return": [{"name": "type", "type": "string"}, {"name": "gpu0", "type": "child<vfio-pci>"}], "id": "{ID}"}"#
        let anon = #"{"return": [], "id": "{ID}"}"#
        let host = #"{"return": "0000:00:03.2", "id": "{ID}"}"#
        let sysfs = #"{"return": "", "id": "{ID}"}"#
        // The event arrives after a few unrelated lines: detach succeeds.
        let (c, _) = Self.client([
            "qmp_capabilities": [[#"{"return": {}}"#]],
            "qom-list": [[qom], [anon]],
            "qom-get": [[host], [sysfs]],
            "device_del": [
                [
                    #"{"return": {}, "id": "{ID}"}"#, #"{"event": "RTC_CHANGE", "data": {}}"#,
                    #"{"event": "DEVICE_DELETED", "data": {"path": "/machine/peripheral/gpu0/virtio-backend"}}"#,
                    #"{"event": "DEVICE_DELETED", "data": {"device": "gpu0", "path": "/machine/peripheral/gpu0"}}"#,
                ]
            ],
        ])
        try c.connect()
        let d = try QMPHotplug(client: c).detach(id: "gpu0", timeout: .milliseconds(50))
        #expect(d.host == "0000:00:03.2")
        // No event: the guest did not release it.
        let (c2, _) = Self.client([
            "qmp_capabilities": [[#"{"return": {}}"#]],
            "qom-list": [[qom], [anon]],
            "qom-get": [[host], [sysfs]],
            "device_del": [[#"{"return": {}, "id": "{ID}"}"#]],
        ])
        try c2.connect()
        #expect {
            try QMPHotplug(client: c2).detach(id: "gpu0", timeout: .milliseconds(50))
        } throws: { e in
            let m = (e as? HypervisorError)?.message ?? ""
            return m.contains("the guest did not release gpu0 (host 0000:00:03.2)")
                && m.contains("stays in the VM and assigned")
        }
    }

    @Test func peersThatAreNotQMP() throws {
        let cases: [([String], String)] = [
            ([], "sent no QMP greeting"),
            (["<EOF>"], "closed the connection without a QMP greeting"),
            (["HTTP/1.1 400 Bad Request"], "does not speak QMP: its first line was 'HTTP/1.1 400 Bad Request'"),
            (["QEMU 7.2.22 monitor - type 'help' for more information"], "human monitor (HMP), not QMP"),
            ([#"{"hello": 1}"#], "does not speak QMP"),
        ]
        for (greeting, words) in cases {
            let (c, _) = Self.client([:], greeting: greeting)
            #expect {
                try c.connect()
            } throws: { e in
                let v = e as? HypervisorError
                return v?.status == .invalidInput && (v?.message.contains(words) ?? false)
            }
        }
    }

    /// A unix socket served by a small Python program that writes `banner` and waits.
    final class FakeServer {
        let process = Process()
        let path: String
        init(banner: String?) throws {
            path = TestSupport.tempDir("fakeqmp") + "/s"
            let script = """
                import socket, sys, time
                s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
                c, _ = s.accept()
                if len(sys.argv) > 2: c.sendall(sys.argv[2].encode() + b'\\r\\n')
                time.sleep(30)
                """
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", script, path] + (banner.map { [$0] } ?? [])
            try process.run()
            while !FileManager.default.fileExists(atPath: path) { usleep(10_000) }
        }
        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }  // (SIGTERM may be blocked)
            process.waitUntilExit()
        }
    }

    @Test func theCLIOnSocketsThatAreNotQMP() throws {
        let root = try HV.host("mixed", assigned: ["0000:01:00.0"])
        let before = TestSupport.fingerprint(root.path)
        let http = try FakeServer(banner: "HTTP/1.1 200 OK")
        let r = try HV.vg(root, ["qmp", "list", "--socket", http.path])
        #expect(
            r.status == 2 && r.stderr.contains("does not speak QMP") && HV.lines(r.stderr).count == 1, "\(r.stderr)")
        let silent = try FakeServer(banner: nil)
        let s = try HV.vg(root, ["qmp", "attach", "--socket", silent.path, "0000:01:00.0", "--bus", "rp1"])
        #expect(s.status == 2 && s.stderr.contains("sent no QMP greeting within 5 s"), "\(s.stderr)")
        let file = TestSupport.tempDir("notsock") + "/f"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        let f = try HV.vg(root, ["qmp", "detach", "--socket", file, "--id", "x"])
        #expect(f.status == 2 && f.stderr.contains("is not a socket"), "\(f.stderr)")
        let none = try HV.vg(root, ["qmp", "list", "--socket", "/nonexistent/qmp.sock"])
        #expect(none.status == 2 && none.stderr.contains("no socket /nonexistent/qmp.sock"), "\(none.stderr)")
        #expect(TestSupport.fingerprint(root.path) == before)
    }
}
