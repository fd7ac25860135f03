import NIOCore
import NIOPosix
import Synchronization
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

/// Runs `operation`, giving up with `DeadlineExceeded` after `limit`; the
/// operation is cancelled when the deadline wins.
///
/// The deadline is a timer on an event loop, cancelled — and freed — as soon
/// as the operation finishes. (A cancelled `Task.sleep` keeps its timer until
/// the time it was asked to wait has passed: with a ten-minute total timeout
/// on every request, that held about 300 bytes per request for ten minutes.)
func withTimeLimit<T: Sendable>(
    _ limit: Duration,
    stage: TimeoutStage,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    guard limit > .zero else { throw DeadlineExceeded(stage: stage) }
    let task = Task { try await operation() }
    let timedOut = TimeoutFlag()
    let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .nanoseconds(limit.nanosecondsForNIO)) {
        timedOut.fired.store(true, ordering: .relaxed)
        task.cancel()
    }
    defer { timer.cancel() }
    do {
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    } catch {
        if timedOut.fired.load(ordering: .relaxed) { throw DeadlineExceeded(stage: stage) }
        throw error
    }
}

/// Whether a deadline's timer fired, shared between the timer and the waiter.
private final class TimeoutFlag: Sendable {
    let fired = Atomic<Bool>(false)
}
