import SwitchyardCore

/// Thrown when an upstream stage runs past its deadline.
struct DeadlineExceeded: Error {
    let stage: TimeoutStage
}

/// Which of a deployment's timeouts fired.
enum TimeoutStage: String, Sendable {
    case firstToken = "time to first token"
    case idle = "idle between chunks"
    case total = "total"
}

/// Runs `operation`, giving up with `DeadlineExceeded` after `limit`.
/// The operation is cancelled when the deadline wins.
func withTimeLimit<T: Sendable>(
    _ limit: Duration,
    stage: TimeoutStage,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    guard limit > .zero else { throw DeadlineExceeded(stage: stage) }
    return try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw DeadlineExceeded(stage: stage)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        return first
    }
}
