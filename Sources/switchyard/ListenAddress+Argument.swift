public import ArgumentParser
public import SwitchyardServer

extension ListenAddress: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }
}
