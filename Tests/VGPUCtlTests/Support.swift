import HostKit
import HostSim

/// The simulated kernel of a test host, for arranging state before running the CLI.
func HostSimKernel(_ root: HostRoot) -> SimulatedKernel { SimulatedKernel(root: root) }
