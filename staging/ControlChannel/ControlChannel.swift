/// Stage 2 of the upstream vGPU plan: the fwctl-style control channel to the GPU's firmware,
/// and the RM object calls later stages need.
///
/// - `Fwctl/`: the fwctl UAPI (`struct fwctl_info`, `struct fwctl_rpc`, `FWCTL_INFO`,
///   `FWCTL_RPC`, scopes, device types), mirrored in C (`CControlChannel`) with `_Static_assert`s.
/// - `NovaCore/`: the provisional part in one table (``NovaCoreTable``): nova-core's RPC header,
///   the seven vGPU management commands and their layouts, NVKV; requests and replies encoded
///   once (``ManagementRequest``, ``ManagementReply``).
/// - `Transport/`: ``ControlTransport`` and its two implementations, the real ioctl on
///   `/dev/fwctl/fwctlN` (``FwctlIoctlTransport``, found through ``FwctlLocator``) and the GSP
///   queues to gsp-stub (``GSPStubTransport``); errnos as sentences (``FwctlCallFailure``).
/// - `RM/`: `GSP_RM_ALLOC`, `GSP_RM_CONTROL`, `FREE` with handles (``RMSession``,
///   ``RMHandleAllocator``), and the control that carries a fwctl request to the stub
///   (``FwctlOverRM``).
/// - `Client/`: the seven commands as calls (``VGPUManagementClient``).
///
/// Real: the fwctl UAPI and ioctl path (checked against the C mirror; no nova-core fwctl device
/// exists to run it against). Simulated: the firmware side (gsp-stub over the stage-1 queues).
/// Provisional: everything in ``NovaCoreTable``.
public enum ControlChannel {}
