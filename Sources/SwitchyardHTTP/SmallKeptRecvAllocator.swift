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

    /// - Parameter initial: the size of the first read, and of the buffer kept.
    public init(initial: Int = 2048) {
        adaptive = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: initial, maximum: 65536)
    }

    public func buffer(allocator: ByteBufferAllocator) -> ByteBuffer {
        adaptive.buffer(allocator: allocator)
    }

    /// No size hint: NIO then reuses its kept buffer as it is, and allocates
    /// a new one only when the last read filled its buffer.
    public func nextBufferSize() -> Int? { nil }

    public mutating func record(actualReadBytes: Int) -> Bool {
        adaptive.record(actualReadBytes: actualReadBytes)
    }
}
