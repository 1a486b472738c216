extension GMCElement {
    /// An RM RPC element (NVDM type 0x25): r000_00 keeps `rpc_message_header_v` for RM RPCs
    /// such as `UNLOADING_GUEST_DRIVER`.
    public init(rpc: RPCHeader, payload: [UInt8]) {
        header = GMCElementHeader(nvdm: .rmRPC, messageLength: RPCHeader.size + payload.count)
        self.rpc = rpc
        self.payload = payload
    }
}
