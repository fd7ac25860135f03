#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
public import ServiceLifecycle
public import SwitchyardCore

/// The gateway's access log: one JSON line per request (`AccessLogEntry`),
/// to standard error or a file. Lines are gathered in memory and written
/// about five times a second (and at 64 KiB), so a request never waits on a
/// disk; at shutdown whatever is left is written before the process ends.
///
/// A file is opened for appending and created with mode 0640; rotate it by
/// renaming and sending nothing — the log keeps writing to the renamed file
/// until `serve` restarts — or with `copytruncate`.
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

    public let filter: AccessLogFilter
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let pending = Mutex<[UInt8]>([])
    /// Held while bytes go to the descriptor, so batches stay in order.
    private let writing = Mutex<Void>(())
    private let infoSequence = Atomic<UInt64>(0)
    private static let flushThreshold = 64 << 10

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
        flush()
        if ownsDescriptor { close(descriptor) }
    }

    /// Takes a finished request's line, if the filter keeps it.
    public func record(_ entry: AccessLogEntry) {
        let level = entry.level
        let sequence = level == .info ? infoSequence.add(1, ordering: .relaxed).oldValue : 0
        guard filter.admits(level, sequence: sequence) else { return }
        let line = entry.encoded()
        let full = pending.withLock { pending in
            pending.append(contentsOf: line)
            return pending.count >= Self.flushThreshold
        }
        if full { flush() }
    }

    /// Writes every line gathered so far.
    public func flush() {
        writing.withLock { _ in
            let batch = pending.withLock { pending in
                let batch = pending
                pending.removeAll(keepingCapacity: true)
                return batch
            }
            guard !batch.isEmpty else { return }
            batch.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    if written > 0 {
                        offset += written
                    } else if written < 0, errno == EINTR {
                        continue
                    } else {
                        // A full disk or a closed pipe: the lines are dropped rather than held without bound.
                        return
                    }
                }
            }
        }
    }

    /// Flushes every 200 ms until shutdown, then once more.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            flush()
        }
        flush()
    }
}
