public import Hummingbird
import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTP1
public import NIOPosix
public import ServiceLifecycle
import SwitchyardCore
import Synchronization
import NIOExtras

/// An HTTP/1.1 server for a Hummingbird responder that reads and answers
/// each request from a NIO channel handler, with no async channel between.
///
/// Hummingbird's own server runs every connection as a task that reads
/// request parts from an async sequence and writes the reply through an
/// async writer. On a proxy's hot path that machinery cost more CPU than the
/// HTTP parsing itself, and a task per open connection costs memory for as
/// long as it is open. Here a handler gathers the request (its body capped
/// at ``Configuration/maxBodyBytes``), starts one task on the connection's
/// event loop to run the responder, and writes the reply straight to the
/// channel. A connection has no task of its own; graceful shutdown is NIO's
/// quiescing. The HTTP/1.1 codec is NIO's.
public struct DirectHTTPServer<Responder: HTTPResponder>: Service
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    /// Where to listen and how much of a request body to hold.
    public struct Configuration: Sendable {
        public var host: String
        /// 0 asks the OS for a free port.
        public var port: Int
        public var serverName: String?
        /// The most request-body bytes held for the responder. A longer body
        /// reaches the responder cut at one byte past this, so its own
        /// `collect(upTo:)` refuses it; the rest is read and dropped.
        public var maxBodyBytes: Int
        /// Connection cap and timeouts.
        public var limits: ConnectionLimits

        public init(host: String, port: Int, serverName: String? = nil, maxBodyBytes: Int, limits: ConnectionLimits = ConnectionLimits()) {
            self.host = host
            self.port = port
            self.serverName = serverName
            self.maxBodyBytes = maxBodyBytes
            self.limits = limits
        }
    }

    let responder: Responder
    let configuration: Configuration
    let onServerRunning: @Sendable (Int) async -> Void
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger

    /// - Parameter onServerRunning: called with the bound port once the server listens
    ///   (the port asked for, or the one the OS picked for port 0).
    public init(
        responder: Responder,
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.responder = responder
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    public func run() async throws {
        let responder = self.responder
        let governor = ConnectionGovernor(limit: configuration.limits.maxConnections)
        let childChannel = DirectHTTP1Channel(
            respond: { request, channel, logger in
                try await responder.respond(to: request, context: Responder.Context(source: .init(channel: channel, logger: logger)))
            },
            maxBodyBytes: configuration.maxBodyBytes,
            serverName: configuration.serverName,
            limits: configuration.limits,
            governor: governor,
            logger: logger
        )
        let quiescing = ServerQuiescingHelper(group: eventLoopGroup)
        let serverChannel = try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: Int32(clamping: configuration.limits.listenBacklog))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            // One small receive buffer kept per connection, not the largest
            // read it ever made (see SmallKeptRecvAllocator).
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelOption(.recvAllocator, value: SmallKeptRecvAllocator())
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelInitializer { channel in
                childChannel.setup(channel: channel, logger: logger)
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        // Every connection is the pipeline's own: no task waits on it. A
        // graceful shutdown stops accepting, asks each connection to close
        // after its reply in flight, and ends when the last one has closed.
        // Cancelled, it closes every connection at once.
        let drained = serverChannel.eventLoop.makePromise(of: Void.self)
        let shutdown = ShutdownOnce(quiescing: quiescing, drained: drained)
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await onServerRunning(serverChannel.localAddress?.port ?? configuration.port)
                try? await serverChannel.closeFuture.get()
            } onGracefulShutdown: {
                shutdown.begin()
            }
            // The listener may also have closed on its own: its connections are quiesced all the same.
            shutdown.begin()
            try? await drained.futureResult.get()
        } onCancel: {
            shutdown.begin()
            governor.closeAll()
        }
    }
}

/// Starts a server's quiescing once, however many ways it is asked to.
private final class ShutdownOnce: Sendable {
    private let quiescing: ServerQuiescingHelper
    private let drained: EventLoopPromise<Void>
    private let begun = Atomic(false)

    init(quiescing: ServerQuiescingHelper, drained: EventLoopPromise<Void>) {
        self.quiescing = quiescing
        self.drained = drained
    }

    func begin() {
        guard !begun.exchange(true, ordering: .relaxed) else { return }
        quiescing.initiateShutdown(promise: drained)
    }
}

/// The child channel: NIO's HTTP/1.1 codec and protocol-error handling, and
/// one ``HTTPRequestDispatcher`` per connection.
struct DirectHTTP1Channel: Sendable {
    let respond: HTTPRequestDispatcher.Respond
    let maxBodyBytes: Int
    let serverName: String?
    let limits: ConnectionLimits
    let governor: ConnectionGovernor
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let now = NIODeadline.now()
            let governed = GovernedConnection(channel: channel, now: now)
            guard governor.admit(governed) else {
                // Every slot holds a connection in the middle of a request.
                try channel.pipeline.syncOperations.addHandler(LingeringRefusal(reply: Self.overloaded(channel.allocator)))
                return
            }
            channel.closeFuture.whenComplete { [governor] _ in governor.remove(governed) }
            let activity = ConnectionActivity(limits: limits, governed: governed, now: now)
            try channel.pipeline.syncOperations.addHandler(ConnectionWatch(activity: activity))
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // the dispatcher holds pipelined requests itself
                withErrorHandling: false,  // the dispatcher answers malformed bytes after the replies before them
                withOutboundHeaderValidation: false  // HTTPTypes validated the fields already
            )
            try channel.pipeline.syncOperations.addHandler(
                HTTPRequestDispatcher(respond: respond, maxBodyBytes: maxBodyBytes, serverName: serverName, logger: logger, activity: activity)
            )
        }
    }

    /// The whole reply to a client turned away at the connection cap.
    static func overloaded(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        let refusal = APIError(
            status: 503, message: "the server is at its connection limit and every connection is busy; retry shortly",
            type: "server_error", code: "too_many_connections", retryAfter: .seconds(1)
        )
        let body = refusal.body
        var buffer = allocator.buffer(capacity: 200 + body.count)
        buffer.writeString(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: \(body.count)\r\n"
                + "retry-after: 1\r\nconnection: close\r\n\r\n"
        )
        buffer.writeBytes(body)
        return buffer
    }
}

/// Answers a connection turned away at the cap and closes it gently: the
/// reply, then our side's FIN, then whatever the client still sends is read
/// and dropped until it closes too (or a second passes). Closing with its
/// request unread would send a reset, and the client might never see the 503.
final class LingeringRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let reply: ByteBuffer
    private var sent = false

    init(reply: ByteBuffer) {
        self.reply = reply
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context: context)
        context.fireChannelActive()
    }

    private func refuse(context: ChannelHandlerContext) {
        guard !sent else { return }
        sent = true
        let channel = context.channel
        context.writeAndFlush(NIOAny(reply)).whenComplete { _ in channel.closeLingering() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event as? ChannelEvent == .inputClosed { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension Channel {
    /// Our side's FIN now, the whole connection a second later at the latest:
    /// the client reads what was sent before it sees the close. The handler
    /// that calls this keeps reading and dropping input meanwhile, and closes
    /// at once when the client closes its side.
    func closeLingering() {
        close(mode: .output, promise: nil)
        eventLoop.scheduleTask(in: .seconds(1)) { self.close(promise: nil) }
    }
}
