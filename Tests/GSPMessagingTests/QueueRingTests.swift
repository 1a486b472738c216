import Foundation
import GSPMessaging
import Testing

/// The rings: wrap-around, continuation records, the receiver's checks, full and empty queues,
/// and the doorbell waking a sleeping receiver.
@Suite struct QueueRingTests {
    let ring = GspMemLayout.cpuQueueOffset + GspMemLayout.entryOffset

    @Test func elementWrapsAroundTheEndOfTheRing() throws {
        let (cpu, gsp, m) = try endpointPair()
        // Both pointers at the last page: the queue is empty and the next element starts there.
        m.u32(GspMemLayout.cpuQueueOffset + GspMemLayout.writePtrOffset).pointee = 62
        m.u32(GspMemLayout.gspQueueOffset + GspMemLayout.rxHeaderOffset).pointee = 62
        #expect(cpu.ring.freePages == 62)
        let payload = (0..<0x1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let rec = try cpu.send(function: .nop, payload: payload, sequence: 1, until: .now + .seconds(1))
        #expect(rec.head.elemCount == 2 && rec.continuations.isEmpty)  // ceil((0x50 + 0x1000) / 0x1000)
        // Header and the first 0xfb0 payload bytes in page 62, the last 0x50 at the ring start.
        let head = m.bytes(ring + 62 * 0x1000, 0x50)
        #expect(head.le32(0x24) == 0)  // seqNum
        #expect(head.le32(0x28) == 2)  // elemCount
        #expect(head.le32(0x38) == 0x1020)  // rpc length
        #expect(m.bytes(ring + 62 * 0x1000 + 0x50, 0xfb0) == Array(payload[0..<0xfb0]))
        #expect(m.bytes(ring, 0x50) == Array(payload[0xfb0...]))
        #expect(m.u32(GspMemLayout.cpuQueueOffset + GspMemLayout.writePtrOffset).pointee == 1)
        // The other side reads it back across the wrap, checksum and all.
        let msg = try gsp.receive(until: .now + .seconds(1), waitingFor: "the wrapped element")
        #expect(msg.payload == payload)
        #expect(msg.function == .nop)
        #expect(m.u32(GspMemLayout.gspQueueOffset + GspMemLayout.rxHeaderOffset).pointee == 1)
    }

    /// Payloads around the one-element limit (0xFFB0 payload bytes) and up to three elements.
    @Test(arguments: [0xFFB0 - 24, 0xFFB0 - 23, 0x10000, 2 * 0xFFB0 - 24, 2 * 0xFFB0 - 23])
    func largePayloadsGoOutInContinuationRecords(paramsSize: Int) throws {
        let (cpu, gsp, m) = try endpointPair()
        let params = (0..<paramsSize).map { UInt8(truncatingIfNeeded: $0 ^ ($0 >> 8)) }
        let request = RMControl(hClient: 1, hObject: 1, cmd: 0, params: params).encoded
        let expectedElements =
            (request.count + GspMemLayout.maxPayloadPerElement - 1) / GspMemLayout.maxPayloadPerElement
        let sent = try cpu.send(function: .gspRmControl, payload: request, sequence: 10, until: .now + .seconds(1))
            .records
        #expect(sent.count == expectedElements)
        #expect(sent[0].function == .gspRmControl)
        #expect(sent[0].sequence == 10)
        if sent.count > 1 {
            #expect(sent[0].elemCount == 16)
            #expect(sent[0].length == 0xFFD0)  // the most one element carries: 0x10000 - 0x30
            for (i, r) in sent.dropFirst().enumerated() {
                #expect(r.function == .continuationRecord)
                #expect(r.sequence == 11 + UInt32(i))
            }
            // The first continuation record's header sits right after the head's 16 pages.
            let cont = m.bytes(ring + 16 * 0x1000, 0x50)
            #expect(cont.le32(0x3c) == 71)  // function CONTINUATION_RECORD
            #expect(cont.le32(0x24) == 1)  // seqNum
            #expect(Int(cont.le32(0x38)) == 0x20 + min(request.count - 0xFFB0, 0xFFB0))
        } else {
            #expect(sent[0].elemCount == UInt32(GspMemLayout.elementPages(payload: request.count)))
        }
        let msg = try gsp.receive(until: .now + .seconds(1), waitingFor: "the control")
        #expect(msg.elements.count == expectedElements)
        #expect(msg.payload == request)
    }

    @Test func continuationOfAMessageLargerThanTheRingFlowsAsTheReaderDrains() throws {
        let (cpu, _, m) = try endpointPair()
        let path = m.path
        let params = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let request = RMControl(hClient: 1, hObject: 1, cmd: 0, params: params).encoded
        // A reader in another thread with its own mapping, as the firmware process would be.
        let result = ReaderResult()
        let reader = Thread {
            do {
                let mm = try SharedMapping.open(path: path)
                let gsp = GSPEndpoint(mapping: mm, side: .gsp)
                let msg = try gsp.receive(until: .now + .seconds(20), waitingFor: "4 MiB")
                result.set(count: msg.payload.count, ok: msg.payload == request, elements: msg.elements.count)
            } catch {
                result.set(error: "\(error)")
            }
        }
        reader.start()
        try cpu.send(function: .gspRmControl, payload: request, sequence: 0, until: .now + .seconds(20))
        #expect(result.wait(seconds: 20))
        let r = result.get()
        #expect(r.error == nil)
        #expect(r.ok)
        #expect(r.elements == (request.count + 0xFFAF) / 0xFFB0)
    }

    @Test func receiverRejectsABadChecksum() throws {
        let (cpu, gsp, _) = try endpointPair()
        cpu.sendFault = { n in (corruptChecksum: n == 1, skipSequence: false) }
        try cpu.send(function: .nop, payload: [1, 2, 3], sequence: 0, until: .now + .seconds(1))
        #expect {
            _ = try gsp.receive(until: .now + .seconds(1), waitingFor: "x")
        } throws: { e in
            guard let g = e as? GSPError, case .badElement(let f, let from) = g else { return false }
            return from == .cpu && f.problem.contains("bad checksum") && f.page == 0
        }
    }

    @Test func receiverRejectsASkippedSequenceNumber() throws {
        let (cpu, gsp, _) = try endpointPair()
        cpu.sendFault = { n in (corruptChecksum: false, skipSequence: n == 2) }
        try cpu.send(function: .nop, payload: [], sequence: 0, until: .now + .seconds(1))
        try cpu.send(function: .nop, payload: [], sequence: 1, until: .now + .seconds(1))
        _ = try gsp.receive(until: .now + .seconds(1), waitingFor: "first")
        #expect {
            _ = try gsp.receive(until: .now + .seconds(1), waitingFor: "second")
        } throws: { e in
            "\(e)".contains("sequence number 2, expected 1")
        }
    }

    @Test func receiverRejectsALengthThatDisagreesWithElemCount() throws {
        let (cpu, gsp, m) = try endpointPair()
        try cpu.send(function: .nop, payload: [9], sequence: 0, until: .now + .seconds(1))
        m.u32(ring + 0x28).pointee = 3  // elemCount 3 for a one-page element
        #expect {
            _ = try gsp.receive(until: .now + .seconds(1), waitingFor: "x")
        } throws: { e in "\(e)".contains("elemCount is 3") }
    }

    @Test func emptyQueueTimesOutAtTheDeadline() throws {
        let (_, gsp, _) = try endpointPair()
        let clock = ContinuousClock()
        let start = clock.now
        #expect {
            _ = try gsp.receive(until: .now + .milliseconds(150), waitingFor: "nothing")
        } throws: { e in
            guard let g = e as? GSPError, case .timeout = g else { return false }
            return true
        }
        let took = start.duration(to: clock.now)
        #expect(took >= .milliseconds(140) && took < .seconds(2))
    }

    @Test func fullQueueBlocksTheSenderUntilTheDeadline() throws {
        let (cpu, _, _) = try endpointPair()
        // 62 usable pages: three 16-page elements and 14 single pages fill it.
        for _ in 0..<3 {
            try cpu.send(
                function: .nop, payload: [UInt8](repeating: 1, count: 0xFFB0), sequence: 0, until: .now + .seconds(1))
        }
        for _ in 0..<14 { try cpu.send(function: .nop, payload: [], sequence: 0, until: .now + .seconds(1)) }
        #expect(cpu.ring.freePages == 0)
        #expect {
            try cpu.send(function: .nop, payload: [], sequence: 0, until: .now + .milliseconds(100))
        } throws: { e in "\(e)".contains("free page") }
    }

    @Test func doorbellWakesASleepingReceiver() throws {
        let (_, gsp, m) = try endpointPair()
        let path = m.path
        let writer = Thread {
            usleep(100_000)
            guard let mm = try? SharedMapping.open(path: path) else { return }
            let cpu = GSPEndpoint(mapping: mm, side: .cpu)
            _ = try? cpu.send(function: .nop, payload: [42], sequence: 0, until: .now + .seconds(1))
        }
        let clock = ContinuousClock()
        let start = clock.now
        writer.start()
        gsp.checkInterval = .seconds(30)  // only the doorbell can end this wait early
        let msg = try gsp.receive(until: .now + .seconds(10), waitingFor: "the writer")
        #expect(msg.payload == [42])
        #expect(start.duration(to: clock.now) < .seconds(5))
    }
}

/// A result handed from a reader thread to the test.
final class ReaderResult: @unchecked Sendable {
    private let lock = NSCondition()
    private var done = false
    private var count = 0, ok = false, elements = 0
    private var error: String?

    func set(count: Int, ok: Bool, elements: Int) {
        lock.lock()
        self.count = count
        self.ok = ok
        self.elements = elements
        done = true
        lock.signal()
        lock.unlock()
    }
    func set(error: String) {
        lock.lock()
        self.error = error
        done = true
        lock.signal()
        lock.unlock()
    }
    func wait(seconds: Double) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let until = Date(timeIntervalSinceNow: seconds)
        while !done { if !lock.wait(until: until) { return done } }
        return true
    }
    func get() -> (count: Int, ok: Bool, elements: Int, error: String?) {
        lock.lock()
        defer { lock.unlock() }
        return (count, ok, elements, error)
    }
}
