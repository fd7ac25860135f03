import HTTPTypes
import Logging
import Hummingbird
import NIOCore
import SwitchyardCore
import SwitchyardHTTP

extension Gateway {
    /// Waits for the first chunk (still able to fail over), then answers with a
    /// body that relays the upstream's events as they arrive.
    func streamReply(_ context: AttemptContext, reply: any UpstreamReply, started: Moment) async -> AttemptResult {
        let name = context.deployment.name
        let firstLimit = context.deployment.timeouts.firstToken - (clock.now() - started)
        let first: ByteBuffer?
        do {
            first = try await reply.next(deadline: .after(firstLimit))
        } catch {
            let now = clock.now()
            if Task.isCancelled || error == .cancelled {
                context.runtime.abandon(probe: context.probe, now: now)
                return .failed(AttemptFailure(deployment: name, kind: .failed("client went away")))
            }
            let timedOut = error == .timedOut
            context.runtime.record(.init(outcome: timedOut ? .timeout : .cutStream, latency: now - started), breakerOutcome: .failure, probe: context.probe, now: now)
            return .failed(AttemptFailure(deployment: name, kind: timedOut ? .timeout(.firstToken) : .failed("stream broke off before the first chunk")))
        }
        guard let first else {
            let now = clock.now()
            context.runtime.record(.init(outcome: .cutStream, latency: now - started), breakerOutcome: .failure, probe: context.probe, now: now)
            return .failed(AttemptFailure(deployment: name, kind: .failed("stream ended before the first chunk")))
        }
        let firstAt = clock.now()
        var headers = replyHeaders(context, upstream: reply.headers)
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        // A sampled stream on a shadowed route keeps its events, to be compared once it has ended.
        var mirror: (mirror: ShadowMirror, shadow: String)?
        if context.chat.operation == .chatCompletions, let candidate = shadowMirror(route: context.route.plan.route.name),
            let shadow = candidate.counterpart(of: context.deployment.name), candidate.admit()
        {
            mirror = (candidate, shadow)
        }
        let relay = StreamRelay(gateway: self, context: context, reply: reply, started: started, firstChunkAt: firstAt, mirror: mirror)
        let mirrored = mirror
        context.trail?.update { $0.stream = true }
        return .response(
            Response(
                status: .ok,
                headers: headers,
                body: ResponseBody { [self] writer in
                    // The Responses API's relay awaits the store as the response id goes by, so it keeps a task.
                    if context.chat.operation != .responses, let handOff = writer as? any LoopReplyHandOff,
                        let onLoop = LoopStreamRelay(
                            gateway: self, context: context, reply: reply, clientLoop: handOff.eventLoop, first: first, started: started,
                            firstChunkAt: firstAt, mirror: mirrored
                        )
                    {
                        do {
                            try await handOff.handOff(to: onLoop)
                        } catch {
                            onLoop.notStarted()
                            throw error
                        }
                        return
                    }
                    try await relay.run(first: first, writer: &writer)
                }
            )
        )
    }
}

/// Relays one upstream event stream to the client: original bytes, event by
/// event, dropping only the usage chunk the client did not ask for, and ending
/// a broken stream with an error event rather than a clean `[DONE]`.
struct StreamRelay: Sendable {
    let gateway: Gateway
    let context: AttemptContext
    let reply: any UpstreamReply
    let started: Moment
    let firstChunkAt: Moment
    /// Set when this stream is copied to a shadow (or the other A/B variant) once it ends.
    let mirror: (mirror: ShadowMirror, shadow: String)?

    func run(first: ByteBuffer, writer: inout any ResponseBodyWriter) async throws {
        guard let trail = context.trail else { return try await relay(first: first, writer: &writer) }
        do {
            try await relay(first: first, writer: &writer)
        } catch {
            // The client left mid-stream: its 200 has gone out, the rest has not.
            trail.finish(status: 200, error: "client_closed")
            throw error
        }
    }

    private func relay(first: ByteBuffer, writer: inout any ResponseBodyWriter) async throws {
        var state = State(forwardUsage: context.chat.clientWantsStreamUsage, watchForResponseID: context.chat.operation == .responses)
        var kept: ByteBuffer? = mirror == nil ? nil : ByteBuffer()
        // What the client was sent, for a `logContent` route's access-log line.
        var logged: [UInt8]? = context.trail?.logsContent == true ? [] : nil
        var rememberedResponse = false
        let timeouts = context.deployment.timeouts
        var chunk: ByteBuffer? = first
        var failure: (RequestOutcome, String)?
        while let buffer = chunk {
            ShadowMirror.keep(buffer, in: &kept)
            do {
                let output = try state.consume(buffer)
                if let output, output.readableBytes > 0 {
                    RequestTrail.log(output, into: &logged)
                    try await writer.write(output)
                }
            } catch is SplitterError {
                failure = (.cutStream, "the upstream sent an event larger than \(ServerSentEventSplitter.maximumEventBytes) bytes")
                break
            } catch {
                // The client went away: nothing more to send, and not the deployment's fault.
                context.runtime.abandon(probe: context.probe, now: gateway.clock.now())
                throw error
            }
            if !rememberedResponse, let id = state.responseID {
                rememberedResponse = true
                await gateway.rememberResponse(id, route: context.route.plan.route.name, deployment: context.deployment.name, clientKey: context.clientKey?.name)
            }
            if state.sawDone { break }
            let elapsed = gateway.clock.now() - started
            let totalLeft = timeouts.total - elapsed
            let stage: TimeoutStage = totalLeft < timeouts.idle ? .total : .idle
            do {
                chunk = try await reply.next(deadline: .after(min(totalLeft, timeouts.idle)))
            } catch .timedOut {
                failure = (.timeout, "the upstream stream timed out (\(stage.rawValue))")
                break
            } catch {
                if Task.isCancelled || error == .cancelled {
                    context.runtime.abandon(probe: context.probe, now: gateway.clock.now())
                    throw error
                }
                failure = (.cutStream, "the upstream stream broke off")
                break
            }
        }
        if failure == nil, !state.sawDone {
            let end = context.chat.operation == .responses ? "a response.completed event" : "[DONE]"
            failure = (state.sawError ? .upstream5xx : .cutStream, "the upstream stream ended without \(end)")
        }
        let ending = StreamEnding(gateway: gateway, account: AttemptAccount(context), operation: context.chat.operation, started: started, firstChunkAt: firstChunkAt)
        let now = gateway.clock.now()
        if let errorEvent = ending.record(failure, state: state, now: now) {
            try await writer.write(errorEvent)
        }
        try await writer.finish(nil)
        ending.afterReply(failure, logged: logged, mirror: mirror.map { ($0.mirror, $0.shadow, context.chat) }, kept: kept, now: now)
    }

    /// The event that ends a broken stream: for chat and completions an
    /// error object in place of `[DONE]`; for the Responses API an `error`
    /// event (never `response.completed`), which also carries the error object
    /// SDKs raise on.
    static func errorEvent(_ error: APIError, responsesAPI: Bool) -> ByteBuffer {
        guard responsesAPI else {
            var event = ByteBuffer(string: "data: ")
            event.writeBytes(error.body)
            event.writeString("\n\n")
            return event
        }
        let payload: JSONValue = [
            "type": "error", "code": .string(error.code ?? "stream_interrupted"), "message": .string(error.message), "param": nil,
            "error": ["type": .string(error.type), "code": .string(error.code ?? "stream_interrupted"), "message": .string(error.message)],
        ]
        var event = ByteBuffer(string: "event: error\ndata: ")
        event.writeBytes(JSONText.encode(payload))
        event.writeString("\n\n")
        return event
    }

    /// What the relay has seen of the stream so far.
    struct State {
        let forwardUsage: Bool
        let watchForResponseID: Bool
        var splitter = ServerSentEventSplitter()
        var usage: TokenUsage?
        var sawDone = false
        var sawError = false
        var contentFiltered = false
        /// The Responses API's response id, from its first event.
        var responseID: String?

        init(forwardUsage: Bool, watchForResponseID: Bool = false) {
            self.forwardUsage = forwardUsage
            self.watchForResponseID = watchForResponseID
        }

        /// The bytes to forward for one upstream chunk: the chunk itself when it
        /// holds only whole events that all go through, otherwise the events
        /// that go through, re-assembled.
        mutating func consume(_ buffer: ByteBuffer) throws(SplitterError) -> ByteBuffer? {
            let hadPending = splitter.pendingByteCount > 0
            let events = try splitter.feed(buffer.readableBytesView)
            var dropped = false
            for event in events {
                switch event.kind {
                case .done:
                    sawDone = true
                case .finished(let reported):
                    sawDone = true
                    if let reported { usage = reported }
                case .error:
                    sawError = true
                case .usage(let reported):
                    usage = reported
                    dropped = dropped || !forwardUsage
                case .chunk(let reported, let filtered):
                    if let reported { usage = reported }
                    contentFiltered = contentFiltered || filtered
                    if watchForResponseID, responseID == nil { responseID = ReplyScan.responsesEventResponseID(event.bytes) }
                case .other:
                    break
                }
            }
            if !hadPending, !dropped, splitter.pendingByteCount == 0 { return buffer }
            var output = ByteBuffer()
            for event in events {
                if case .usage = event.kind, !forwardUsage { continue }
                output.writeBytes(event.bytes)
            }
            return output
        }
    }
}

/// How a relayed stream ended, recorded once by whichever relay carried it.
struct StreamEnding {
    let gateway: Gateway
    let account: AttemptAccount
    let operation: OpenAIOperation
    let started: Moment
    let firstChunkAt: Moment

    /// Records the outcome against the deployment; for a broken stream
    /// whose upstream did not send an error event of its own, returns the
    /// one to send before the end.
    func record(_ failure: (outcome: RequestOutcome, message: String)?, state: StreamRelay.State, now: Moment) -> ByteBuffer? {
        guard let failure else {
            gateway.recordSuccess(
                account, usage: state.usage, contentFiltered: state.contentFiltered, latency: now - started,
                timeToFirstToken: firstChunkAt - started, now: now
            )
            return nil
        }
        let deployment = account.deployment.name
        account.runtime.record(
            .init(outcome: failure.outcome, latency: now - started, timeToFirstToken: firstChunkAt - started),
            breakerOutcome: .failure,
            probe: account.probe,
            now: now
        )
        gateway.logger.debug("stream failed", metadata: ["deployment": "\(deployment)", "reason": "\(failure.message)"])
        guard !state.sawError else { return nil }
        let error = APIError(
            status: 502,
            message: "\(failure.message) (deployment '\(deployment)'); the reply is incomplete",
            type: "server_error",
            code: failure.outcome == .timeout ? "upstream_timeout" : "stream_interrupted"
        )
        return StreamRelay.errorEvent(error, responsesAPI: operation == .responses)
    }

    /// Once the client has its whole reply: the access-log line and trace,
    /// then the shadow's copy of a stream that ended well.
    func afterReply(
        _ failure: (outcome: RequestOutcome, message: String)?, logged: [UInt8]?,
        mirror: (mirror: ShadowMirror, shadow: String, chat: ClientRequest)?, kept: ByteBuffer?, now: Moment
    ) {
        if let trail = account.trail {
            let code = failure.map { $0.outcome == .timeout ? "upstream_timeout" : "stream_interrupted" }
            if let logged { trail.update { $0.replyContent = logged } }
            trail.endAttempt(status: 200, failure: code)
            trail.finish(status: 200, error: code)
        }
        if failure == nil, let mirror, let kept {
            mirror.mirror.enqueue(
                ShadowMirror.Job(
                    chat: mirror.chat, primaryDeployment: account.deployment.name, shadowDeployment: mirror.shadow, primaryBody: kept,
                    primaryStreamed: true, primaryLatency: now - started
                )
            )
        }
    }
}
