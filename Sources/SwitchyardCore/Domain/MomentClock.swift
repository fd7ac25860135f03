/// The source of `Moment`s. The core's state machines never read a clock:
/// the I/O layers read one of these and pass the time in, and tests pass a
/// fixed or stepped one.
public protocol MomentClock: Sendable {
    func now() -> Moment
}
