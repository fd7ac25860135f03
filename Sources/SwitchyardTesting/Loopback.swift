import Hummingbird
public import ServiceLifecycle

/// Starts an application that listens on a port the OS picks, as a child task
/// of `group`, and returns the port once it is listening.
///
/// - Parameter build: makes the application, given the callback it must call
///   from `onServerRunning` with its port.
public func startListening<App: Service>(
    in group: inout ThrowingTaskGroup<Void, any Error>,
    _ build: (@escaping @Sendable (Int) async -> Void) -> App
) async throws -> Int {
    let (stream, continuation) = AsyncStream<Int>.makeStream()
    let app = build { port in
        continuation.yield(port)
        continuation.finish()
    }
    group.addTask { try await app.run() }
    var iterator = stream.makeAsyncIterator()
    guard let port = await iterator.next() else { throw CancellationError() }
    return port
}
