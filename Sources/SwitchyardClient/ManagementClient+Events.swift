import AsyncHTTPClient
import NIOCore
import NIOHTTP1
public import SwitchyardCore

extension ManagementClient {
    /// `GET /api/v1/events` as typed values: a snapshot first, then every
    /// change as it happens. The sequence ends with an error when the stream
    /// breaks or the server closes it; the caller decides how to reconnect.
    /// Events of a kind this build does not know are skipped.
    public func events() -> AsyncThrowingStream<ManagementEvent, any Error> {
        let request = request(.GET, ManagementPath.events)
        let baseURL = baseURL
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                    guard response.status == .ok else {
                        throw ManagementClientError.refused(status: Int(response.status.code), message: "the event stream was refused")
                    }
                    var parser = EventStreamParser()
                    for try await chunk in response.body {
                        for raw in parser.feed(Array(buffer: chunk)) {
                            if let event = ManagementEvent(name: raw.name, data: raw.data) { continuation.yield(event) }
                        }
                    }
                    throw ManagementClientError.unreachable("the event stream at \(baseURL) was closed by the server")
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
