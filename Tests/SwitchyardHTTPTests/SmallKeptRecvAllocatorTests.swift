import NIOCore
import Testing
@testable import SwitchyardHTTP

/// What a connection keeps between reads, driven the way NIO's socket
/// channel drives its receive-buffer pool (one buffer per readable event).
@Suite struct SmallKeptRecvAllocatorTests {
    /// Reads `sizes` in turn, each filling what it was given up to its size;
    /// returns the capacity of the buffer the pool hands out afterwards.
    static func capacityAfterReading(_ sizes: [Int], with allocator: some RecvByteBufferAllocator) -> Int {
        var pool = NIOPooledRecvBufferAllocator(capacity: 1, recvAllocator: allocator)
        for size in sizes {
            let (read, count) = pool.buffer(allocator: ByteBufferAllocator()) { buffer -> Int in
                let count = min(size, buffer.writableBytes)
                buffer.writeRepeatingByte(0x61, count: count)
                return count
            }
            pool.record(actualReadBytes: count)
            _ = read  // released at once, as a request's bytes are once parsed
        }
        let (next, _) = pool.buffer(allocator: ByteBufferAllocator()) { $0.capacity }
        return next.capacity
    }

    @Test func aLargeRequestLeavesOnlyTheSmallBufferBehind() {
        // A 16 KB request arriving in reads that each fill their buffer, then
        // small reads (the next requests) until the read size has shrunk back.
        let reads = [2048, 4096, 8192, 2048] + Array(repeating: 100, count: 12)
        let kept = Self.capacityAfterReading(reads, with: SmallKeptRecvAllocator())
        #expect(kept <= 2048, "kept \(kept) bytes")
        // NIO's own allocator grows its kept buffer to the largest read.
        let adaptive = Self.capacityAfterReading(reads, with: AdaptiveRecvByteBufferAllocator())
        #expect(adaptive >= 8192)
    }

    @Test func readsStillGrowWhileTheyFillTheirBuffers() {
        var pool = NIOPooledRecvBufferAllocator(capacity: 1, recvAllocator: SmallKeptRecvAllocator())
        var sizes: [Int] = []
        for _ in 0..<4 {
            let (_, size) = pool.buffer(allocator: ByteBufferAllocator()) { buffer -> Int in
                let size = buffer.writableBytes
                buffer.writeRepeatingByte(0x61, count: size)
                return size
            }
            pool.record(actualReadBytes: size)
            sizes.append(size)
        }
        #expect(sizes == [2048, 4096, 8192, 16384])
    }

    @Test func aLongUploadKeepsReadingInLargeBuffers() {
        // Reads that stay large but no longer fill their buffers: the size
        // holds, and they do not fall back to the small kept buffer.
        var pool = NIOPooledRecvBufferAllocator(capacity: 1, recvAllocator: SmallKeptRecvAllocator())
        var capacities: [Int] = []
        for read in [2048, 4096, 8192, 16384, 12000, 12000, 12000] {
            let (_, (capacity, count)) = pool.buffer(allocator: ByteBufferAllocator()) { buffer -> (Int, Int) in
                let count = min(read, buffer.writableBytes)
                buffer.writeRepeatingByte(0x61, count: count)
                return (buffer.capacity, count)
            }
            pool.record(actualReadBytes: count)
            capacities.append(capacity)
        }
        #expect(capacities.suffix(3).allSatisfy { $0 >= 16384 }, "\(capacities)")
    }
}
