#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization
import SwitchyardClock
public import ServiceLifecycle
public import SwitchyardCore

/// The gateway's access log: one JSON line per request (`AccessLogEntry`),
/// to standard error or a file. A request only appends its line to memory;
/// a writer of its own (a serial Dispatch queue, off the event loops and the
/// task pool) writes them about five times a second and at 64 KiB, so a slow
/// disk or a full pipe never holds a request up. Should the writer fall more
/// than 16 MiB behind, lines are dropped and a line says how many. At
/// shutdown whatever is left is written before the process ends.
///
/// A file is opened for appending and created with mode 0640; rotate it with
/// `copytruncate` (a renamed file goes on being written until `serve` restarts).
public final class AccessLog: Service, Sendable {
    public enum Destination: Sendable, Hashable {
        case standardError
        case file(String)
    }

    public struct OpenFailure: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot open the access log '\(path)': \(reason)" }
    }

    private struct Pending {
        var bytes: [UInt8] = []
        var dropped = 0
        var writeScheduled = false
    }

    public let filter: AccessLogFilter
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let pending = Mutex<Pending>(Pending())
    private let writer = DispatchQueue(label: "switchyard.access-log")
    private let infoSequence = Atomic<UInt64>(0)
    private static let writeThreshold = 64 << 10
    private static let maximumPending = 16 << 20

    public init(_ destination: Destination, filter: AccessLogFilter = AccessLogFilter()) throws(OpenFailure) {
        self.filter = filter
        switch destination {
        case .standardError:
            descriptor = 2
            ownsDescriptor = false
        case .file(let path):
            let opened = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            guard opened >= 0 else { throw OpenFailure(path: path, reason: String(cString: strerror(errno))) }
            descriptor = opened
            ownsDescriptor = true
        }
    }

    deinit {
        writeOut()
        if ownsDescriptor { close(descriptor) }
    }

    /// Takes a finished request's line, if the filter keeps it.
    public func record(_ entry: AccessLogEntry) {
        let level = entry.level
        let sequence = level == .info ? infoSequence.add(1, ordering: .relaxed).oldValue : 0
        guard filter.admits(level, sequence: sequence) else { return }
        let line = entry.encoded()
        let scheduleWrite = pending.withLock { pending in
            guard pending.bytes.count + line.count <= Self.maximumPending else {
                pending.dropped += 1
                return false
            }
            pending.bytes.append(contentsOf: line)
            guard pending.bytes.count >= Self.writeThreshold, !pending.writeScheduled else { return false }
            pending.writeScheduled = true
            return true
        }
        if scheduleWrite { writer.async { self.writeOut() } }
    }

    /// Writes every line gathered so far, and waits until it is written.
    public func flush() {
        writer.sync { writeOut() }
    }

    /// Writes what is pending; on the writer queue (or in `deinit`).
    private func writeOut() {
        var (batch, dropped) = pending.withLock { pending in
            var batch: [UInt8] = []
            swap(&batch, &pending.bytes)
            pending.writeScheduled = false
            defer { pending.dropped = 0 }
            return (batch, pending.dropped)
        }
        if dropped > 0 {
            let note = #"{"time":"\#(SystemClock().now().timestamp)","level":"warning","message":"the access log fell behind and dropped \#(dropped) lines"}"# + "\n"
            batch.append(contentsOf: note.utf8)
        }
        guard !batch.isEmpty else { return }
        batch.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, base + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    // A full disk or a closed pipe: the batch is dropped rather than held without bound.
                    return
                }
            }
        }
    }

    /// Has the writer write every 200 ms until shutdown, then once more.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            writer.async { self.writeOut() }
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            writer.async {
                self.writeOut()
                done.resume()
            }
        }
    }
}
