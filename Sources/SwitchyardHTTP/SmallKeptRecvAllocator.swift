public import NIOCore

/// Receive buffers sized as NIO's adaptive allocator sizes them, but of which
/// a connection keeps only its first, small one between reads.
///
/// NIO keeps a connection's receive buffer for reuse and grows it in place to
/// the largest read the connection ever made; with the adaptive allocator
/// that is up to 64 KiB, held for as long as the connection is open. A
/// stream that began with a 16 KB request held 16 KiB it would never read
/// into again (48 KiB per open stream instead of 22). Here a read larger than
/// the kept buffer gets a buffer of its own, freed once its bytes are used.
/// Use it with `maxMessagesPerRead` 1, or NIO also keeps the larger buffers of
/// one readable event's reads.
public struct SmallKeptRecvAllocator: RecvByteBufferAllocator {
    private var adaptive: AdaptiveRecvByteBufferAllocator
    /// The size of the first read, and of the buffer NIO keeps.
    private let keptSize: Int

    /// - Parameter initial: the size of the first read, and of the buffer
    ///   kept (rounded down to a power of two, as NIO's allocator does).
    public init(initial: Int = 2048) {
        adaptive = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: initial, maximum: 65536)
        keptSize = adaptive.nextBufferSize() ?? initial
    }

    public func buffer(allocator: ByteBufferAllocator) -> ByteBuffer {
        adaptive.buffer(allocator: allocator)
    }

    /// No size hint: NIO then reuses its kept buffer as it is, unless
    /// ``record(actualReadBytes:)`` said the next read wants a larger one.
    public func nextBufferSize() -> Int? { nil }

    /// True while the adaptive size is above the kept buffer's, so a run of
    /// large reads gets buffers of that size rather than the kept one.
    public mutating func record(actualReadBytes: Int) -> Bool {
        let grew = adaptive.record(actualReadBytes: actualReadBytes)
        return grew || (adaptive.nextBufferSize() ?? 0) > keptSize
    }
}
