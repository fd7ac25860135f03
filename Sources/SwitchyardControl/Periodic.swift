import ServiceLifecycle

/// Runs `body` every `interval` (after waiting one first) until the service
/// group shuts down gracefully, which cancels the wait: the loop every
/// periodic service of the server shares.
func repeatUntilShutdown(every interval: Duration, _ body: @escaping @Sendable () async -> Void) async {
    try? await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            await body()
        }
    }
}
