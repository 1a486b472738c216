/// The GMC API command ids of the development firmware r000_00 (`GMCAPI_COMMANDS` in the
/// vGPU series author's `gsp/fw/r000_00/bindings.rs`). The seven vGPU management commands here
/// are 0x10000001..0x10000007; NVIDIA's published GMC API table (category `VGPU_MGMT` = 0x02)
/// numbers the same seven 0x00020001..0x00020007 — both exist, and ControlChannel's
/// `NovaCoreTable` keeps both id sets.
public enum GMCCommandTable {
    /// (id, name), in id order.
    public static let commands: [(id: UInt32, name: String)] = [
        (0x0000_FFFF, "RESERVED_LAST"),
        (0x0001_0001, "GSP_INIT"),
        (0x0001_F001, "EXEC_GENERIC_BOOTLOADER"),
        (0x0001_F002, "EXEC_HS_BINARY"),
        (0x1000_0001, "ADD_VGPU_TYPE"),
        (0x1000_0002, "QUERY_SUPPORTED_VGPU_TYPES"),
        (0x1000_0003, "QUERY_CREATABLE_VGPU_TYPES"),
        (0x1000_0004, "ASSIGN_VGPU_TYPE"),
        (0x1000_0005, "DEASSIGN_VGPU_TYPE"),
        (0x1000_0006, "QUERY_VGPU_PROPERTIES"),
        (0x1000_0007, "QUERY_ASSIGNED_VF_VGPU_TYPE"),
        (0x1000_0020, "BOOTLOAD_GSP_VGPU_PLUGIN_TASK"),
        (0x1000_0021, "SHUTDOWN_GSP_VGPU_PLUGIN_TASK"),
        (0x1000_0022, "SHUTDOWN_GSP_VGPU_PLUGIN_TASK_COMPLETE"),
        (0x1000_0023, "CLEANUP_GSP_VGPU_PLUGIN_RESOURCES"),
        (0xFFFF_AACD, "DUMMY_INCREMENT"),
        (0xFFFF_AACE, "DUMMY_DECREMENT_GSP"),
        (0xFFFF_FFFF, "INVALID"),
    ]

    /// `GMCAPI_CMD_ASSIGN_VGPU_TYPE`, or `GMCAPI 0x...` for an id the table lacks.
    public static func name(of id: UInt32) -> String {
        commands.first { $0.id == id }.map { "GMCAPI_CMD_" + $0.name } ?? "GMCAPI \(hex0x(id))"
    }

    /// The id of a command name (with or without the `GMCAPI_CMD_` prefix).
    public static func id(named name: String) -> UInt32? {
        let bare = name.hasPrefix("GMCAPI_CMD_") ? String(name.dropFirst(11)) : name
        return commands.first { $0.name == bare }?.id
    }
}
